/**
 * A picture of a Slack message from its Block Kit payload, as SVG: the subset flowhooks sends
 * (header, section text and fields, context, actions' buttons, the attachment's colour bar), mrkdwn's *bold*,
 * `code`, <url|links>, <@user> mentions and the emoji flowhooks sends, wrapped to Slack's message width. An approximation of Slack's look for
 * docs/alerts.md, drawn from the real payload so it cannot drift from what is sent.
 */
import type { SlackBlock } from "../../lib/notify/format";

interface Payload {
  text?: string;
  blocks?: SlackBlock[];
  attachments?: { color?: string; blocks?: SlackBlock[] }[];
}

interface Button {
  text?: { text: string };
  style?: "primary" | "danger";
}

interface Run {
  text: string;
  bold?: boolean;
  code?: boolean;
  link?: boolean;
}

const WIDTH = 680;
const LEFT = 64;
const CHAR = { 15: 8.6, 14: 8.0, 12: 6.9 } as const;

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The emoji shortcodes flowhooks sends, as characters every SVG viewer's fonts have. */
const EMOJI: Record<string, string> = { ":white_check_mark:": "✔", ":no_entry:": "⛔" };

/** mrkdwn → runs: `*bold*`, `` `code` ``, `<url|label>`; Slack's own escapes undone. */
function runs(mrkdwn: string): Run[] {
  const out: Run[] = [];
  const re = /\*([^*\n]+)\*|`([^`\n]+)`|<([^|>]+)\|([^>]+)>|<(https?:[^>]+)>|<@([UW][A-Z0-9]+)>/g;
  let last = 0;
  mrkdwn = mrkdwn.replace(/:[a-z_]+:/g, (code) => EMOJI[code] ?? code);
  const unescape = (t: string) => t.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  for (let m = re.exec(mrkdwn); m; m = re.exec(mrkdwn)) {
    if (m.index > last) out.push({ text: unescape(mrkdwn.slice(last, m.index)) });
    if (m[1] !== undefined) out.push({ text: unescape(m[1]), bold: true });
    else if (m[2] !== undefined) out.push({ text: unescape(m[2]), code: true });
    else if (m[4] !== undefined) out.push({ text: unescape(m[4]), link: true });
    else if (m[6] !== undefined) out.push({ text: `@${m[6]}`, link: true });
    else out.push({ text: unescape(m[5]!), link: true });
    last = m.index + m[0].length;
  }
  if (last < mrkdwn.length) out.push({ text: unescape(mrkdwn.slice(last)) });
  return out;
}

/** Runs broken into lines of at most `maxWidth` px (by word; a long word is cut). */
function wrap(line: Run[], size: 15 | 14 | 12, maxWidth: number): Run[][] {
  const perChar = CHAR[size];
  const lines: Run[][] = [[]];
  let width = 0;
  for (const run of line) {
    for (const word of run.text.split(/(?<= )/)) {
      let rest = word;
      while (rest.length > 0) {
        const room = Math.floor((maxWidth - width) / perChar);
        if (rest.length <= room) {
          lines.at(-1)!.push({ ...run, text: rest });
          width += rest.length * perChar;
          rest = "";
        } else if (width > 0) {
          lines.push([]);
          width = 0;
        } else {
          lines.at(-1)!.push({ ...run, text: rest.slice(0, room) });
          lines.push([]);
          rest = rest.slice(room);
        }
      }
    }
  }
  return lines.filter((l) => l.length > 0);
}

class Canvas {
  y = 24;
  readonly parts: string[] = [];

  text(mrkdwn: string, x: number, size: 15 | 14 | 12, maxWidth: number, options: { bold?: boolean; color?: string } = {}): void {
    for (const paragraph of mrkdwn.split("\n")) {
      for (const line of wrap(runs(paragraph), size, maxWidth)) {
        this.y += size + 6;
        const spans = line
          .map((r) => {
            const style = [
              r.bold || options.bold ? 'font-weight="700"' : "",
              r.code ? `font-family="'DejaVu Sans Mono', Menlo, Consolas, monospace" fill="#c7254e"` : "",
              r.link ? 'fill="#1264a3"' : "",
            ].join(" ");
            return `<tspan ${style}>${esc(r.text)}</tspan>`;
          })
          .join("");
        this.parts.push(`<text x="${x}" y="${this.y}" font-size="${size}" fill="${options.color ?? "#1d1c1d"}" xml:space="preserve">${spans}</text>`);
      }
    }
  }

  /** An actions block's buttons in a row: primary filled green, danger outlined red, as Slack draws them. */
  buttons(buttons: Button[], x: number): void {
    const top = this.y + 8;
    let left = x;
    for (const button of buttons) {
      const label = button.text?.text ?? "";
      const width = Math.round(label.length * CHAR[14] + 24);
      const fill = button.style === "primary" ? "#007a5a" : "#ffffff";
      const stroke = button.style === "primary" ? "#007a5a" : button.style === "danger" ? "#e01e5a" : "#bbbbbb";
      const color = button.style === "primary" ? "#ffffff" : button.style === "danger" ? "#e01e5a" : "#1d1c1d";
      this.parts.push(`<rect x="${left}" y="${top}" width="${width}" height="28" rx="4" fill="${fill}" stroke="${stroke}"/>`);
      this.parts.push(`<text x="${left + width / 2}" y="${top + 19}" font-size="14" font-weight="700" fill="${color}" text-anchor="middle">${esc(label)}</text>`);
      left += width + 8;
    }
    this.y = top + 28;
  }

  blocks(blocks: SlackBlock[], x: number, maxWidth: number): void {
    for (const block of blocks) {
      const b = block as { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { text: string }[] };
      if (b.type === "header" && b.text) this.text(b.text.text, x, 15, maxWidth, { bold: true });
      if (b.type === "section" && b.text) this.text(b.text.text, x, 14, maxWidth);
      if (b.type === "section" && b.fields) {
        const top = this.y;
        let bottom = top;
        b.fields.forEach((field, i) => {
          this.y = top + Math.floor(i / 2) * 44;
          this.text(field.text, x + (i % 2) * (maxWidth / 2), 14, maxWidth / 2 - 8);
          bottom = Math.max(bottom, this.y);
        });
        this.y = bottom;
      }
      if (b.type === "context" && b.elements) this.text(b.elements.map((e) => e.text).join("  ·  "), x, 12, maxWidth, { color: "#616061" });
      if (b.type === "actions" && b.elements) this.buttons(b.elements as unknown as Button[], x);
      this.y += 4;
    }
  }
}

/** The message as Slack would roughly show it, as an SVG document. */
export function blockKitSvg(payload: Payload, title = "flowhooks"): string {
  const canvas = new Canvas();
  canvas.parts.push(`<rect x="16" y="16" width="36" height="36" rx="6" fill="#4a154b"/>`);
  canvas.parts.push(`<text x="34" y="40" font-size="15" font-weight="700" fill="#ffffff" text-anchor="middle">fh</text>`);
  canvas.text(`*${title}*  APP`, LEFT, 15, WIDTH - LEFT - 16);
  if (payload.blocks?.length) canvas.blocks(payload.blocks, LEFT, WIDTH - LEFT - 16);
  else if (!payload.attachments?.length && payload.text) canvas.text(payload.text, LEFT, 14, WIDTH - LEFT - 16);
  for (const attachment of payload.attachments ?? []) {
    const top = canvas.y + 6;
    canvas.blocks(attachment.blocks ?? [], LEFT + 14, WIDTH - LEFT - 30);
    canvas.parts.push(`<rect x="${LEFT}" y="${top}" width="4" height="${canvas.y - top + 4}" rx="2" fill="${esc(attachment.color ?? "#dddddd")}"/>`);
  }
  const height = canvas.y + 20;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="'DejaVu Sans', 'Helvetica Neue', Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff" stroke="#e8e8e8"/>`,
    ...canvas.parts,
    "</svg>",
    "",
  ].join("\n");
}
