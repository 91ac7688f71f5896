import { ForgeRefusal } from "../forge.js";

// Printable ASCII without spaces: a key goes into a commit trailer line and an HTML comment, where
// a newline or `-->` would let it forge or end the marker.
const KEY = /^[\x21-\x7e]{1,200}$/;

/** Returns `key` if it can be stored in a trailer and a marker; throws {@link ForgeRefusal}. */
export function checkKey(key: string): string {
  if (!KEY.test(key) || key.includes("-->")) {
    throw new ForgeRefusal(
      `refusing idempotency key ${JSON.stringify(key)}: use 1 to 200 printable ASCII characters, no spaces or "-->"`,
    );
  }
  return key;
}
