// Reads each .eml file named on the command line with postal-mime (an independent MIME parser, in JavaScript)
// and prints one JSON object per file: what it makes of the headers, both bodies and the attachments.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import PostalMime from 'postal-mime';

const results = [];
for (const path of process.argv.slice(2)) {
    const email = await PostalMime.parse(await readFile(path));
    const person = (a) => ({ name: a.name, address: a.address });
    results.push({
        path,
        subject: email.subject,
        from: email.from ? person(email.from) : null,
        to: (email.to || []).map(person),
        messageId: email.messageId,
        inReplyTo: email.inReplyTo || '',
        references: email.references || '',
        date: email.date,
        text: email.text,
        html: email.html,
        attachments: email.attachments.map((a) => {
            const bytes = Buffer.from(a.content);
            return {
                filename: a.filename,
                mimeType: a.mimeType,
                disposition: a.disposition,
                size: bytes.length,
                sha256: createHash('sha256').update(bytes).digest('hex'),
            };
        }),
    });
}
process.stdout.write(JSON.stringify(results));
