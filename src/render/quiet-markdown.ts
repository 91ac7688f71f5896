/**
 * Makes untrusted text (model output, issue text, judge reasons) safe to post in a comment: no
 * @mention pings anyone, no HTML comment hides what follows, and no <details> tag opens or closes
 * the folds our comments are built with. The text still reads the same.
 */
export function quietMarkdown(text: string): string {
  return text
    .replace(/@(?=[A-Za-z0-9_-])/g, "@\u200b")
    .replace(/<!--/g, "&lt;!--")
    .replace(/<(\/?)(details|summary)\b/gi, "&lt;$1$2");
}
