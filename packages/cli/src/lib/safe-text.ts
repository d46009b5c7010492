// Text that came from elsewhere (a server's metadata, a challenge, a token response, a token's
// claims) must not drive the terminal: ESC starts ANSI and OSC sequences (colours, cursor moves,
// the window title, OSC 52 clipboard writes), CR and LF fake output lines, C1 controls (CSI is
// U+009B) are escapes on some terminals, and bidi overrides and isolates reorder what is shown.
// They are shown as \uXXXX instead, so the user still sees what was sent.
// eslint-disable-next-line no-control-regex
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

// JSON.stringify already escapes the C0 controls; inside a JSON string a \uXXXX escape means
// the same character, so the output still parses to exactly the same value.
const UNSAFE_JSON = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

function escape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
}

/** `text` with every control character and bidi override shown as a `\uXXXX` escape. */
export function safeText(text: string): string {
  return text.replace(UNSAFE_TEXT, escape)
}

/** `JSON.stringify(value, null, 2)`, with C1 controls and bidi overrides escaped too. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNSAFE_JSON, escape)
}
