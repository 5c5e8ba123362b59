/** Markup that is safe to put in a page as is: made only by the `html` tag, never from a bare string. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Text as HTML: safe inside elements and inside quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

function interpolate(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(interpolate).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/**
 * The only way pages are written: the template's literal parts are ours, every interpolated value
 * is escaped (arrays item by item) unless it is itself the result of this tag. Whatever Kodah shows
 * (e-mails, logins, later diffs and titles) is an attacker's text until it passes through here.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += interpolate(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/**
 * A value as the content of a `<script type="application/json">` element: JSON in which `<`, `>`,
 * `&` and the two line separators are \u escapes, so no `</script>` or `<!--` in attacker text can
 * end the element, and the browser hands the page's script exactly the value (read with JSON.parse).
 */
export function jsonScriptContent(value: unknown): SafeHtml {
  const text = JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return new SafeHtml(text);
}
