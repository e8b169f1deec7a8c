"""The archived record: one RFC 5322 message per meeting instance, written as a stream, and read back for import.

Each module holds one concern, and callers import a name from the module that owns it:

- `text`: Zoom text made safe for a header or a body, and the clock, duration and size formats of the bodies;
- `record`: our machine-readable record of the meeting (`zoom-meeting.json`), which capture writes and the
  import and the completeness report read back;
- `render`: the templates (`templates/`) and their one escaping rule;
- `bodies`: what the text and HTML bodies show of a meeting;
- `headers`: the message's headers;
- `compose`: the MIME message, composed in memory but for the attached files, and streamed out;
- `reader`: an archived `.eml` read back.
"""
