/**
 * A small, safe Markdown renderer for model replies.
 *
 * It never parses HTML and never assigns `innerHTML`: every character of the
 * input reaches the page through `document.createTextNode`, and only the
 * whitelisted elements below are created. Links keep only http(s) and mailto
 * targets. So `<img src=x onerror=…>` in a reply is shown as those characters.
 *
 * Supported: paragraphs and line breaks, `-`/`*`/`1.` lists, `#` headings
 * (shown as bold lines), fenced code blocks, `code`, **bold**, *italic*,
 * [links](https://…), bare https URLs, and `Source: …` lines (citations).
 */

const INLINE =
  /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(\[[^\]\n]+\]\([^)\s]+\))|(\*[^*\s][^*\n]*\*|(?<!\w)_[^_\s][^_\n]*_(?!\w))|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"])/;
const SAFE_URL = /^(https?:\/\/|mailto:)/i;

type Append = (node: Node) => void;

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const child of children) {
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function link(text: string, href: string): Node {
  if (!SAFE_URL.test(href)) return document.createTextNode(text);
  const a = el("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  renderInline(text, (n) => a.appendChild(n));
  return a;
}

/** Append the inline Markdown of `text` through `append`. */
export function renderInline(text: string, append: Append): void {
  let rest = text;
  while (rest) {
    const match = INLINE.exec(rest);
    if (!match) {
      append(document.createTextNode(rest));
      return;
    }
    if (match.index) append(document.createTextNode(rest.slice(0, match.index)));
    const [token, code, bold, anchor, italic, url] = match;
    if (code) append(el("code", code.slice(1, -1)));
    else if (bold) {
      const strong = el("strong");
      renderInline(bold.slice(2, -2), (n) => strong.appendChild(n));
      append(strong);
    } else if (anchor) {
      const split = anchor.indexOf("](");
      append(link(anchor.slice(1, split), anchor.slice(split + 2, -1)));
    } else if (italic) {
      const em = el("em");
      renderInline(italic.slice(1, -1), (n) => em.appendChild(n));
      append(em);
    } else if (url) append(link(url, url));
    rest = rest.slice(match.index + token.length);
  }
}

function lines(target: HTMLElement, text: string[]): HTMLElement {
  text.forEach((line, i) => {
    if (i) target.appendChild(el("br"));
    renderInline(line, (n) => target.appendChild(n));
  });
  return target;
}

/** Render `markdown` into a fragment of safe elements. */
export function renderMarkdown(markdown: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  const source = markdown.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < source.length) {
    const line = source[i];
    if (!line.trim()) {
      i++;
      continue;
    }
    if (line.startsWith("```")) {
      const body: string[] = [];
      for (i++; i < source.length && !source[i].startsWith("```"); i++) body.push(source[i]);
      i++;
      fragment.appendChild(el("pre", el("code", body.join("\n"))));
      continue;
    }
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      const p = el("p", el("strong"));
      renderInline(heading[1], (n) => p.firstChild!.appendChild(n));
      fragment.appendChild(p);
      i++;
      continue;
    }
    const bullet = /^\s*(?:[-*•]|\d+[.)])\s+/;
    if (bullet.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = el(ordered ? "ol" : "ul");
      for (; i < source.length && bullet.test(source[i]); i++) {
        const item = el("li");
        renderInline(source[i].replace(bullet, ""), (n) => item.appendChild(n));
        list.appendChild(item);
      }
      fragment.appendChild(list);
      continue;
    }
    const paragraph: string[] = [];
    for (; i < source.length && source[i].trim() && !bullet.test(source[i]); i++) {
      if (source[i].startsWith("```") || /^#{1,6}\s/.test(source[i])) break;
      paragraph.push(source[i]);
    }
    // Citations ("Source: Returns policy (returns.md)") get their own style.
    const citations = paragraph.filter((l) => /^sources?:\s/i.test(l));
    const text = paragraph.filter((l) => !/^sources?:\s/i.test(l));
    if (text.length) fragment.appendChild(lines(el("p"), text));
    if (citations.length) {
      const p = lines(el("p"), citations);
      p.className = "sb-source";
      fragment.appendChild(p);
    }
  }
  return fragment;
}
