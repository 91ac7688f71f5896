/**
 * Letters of other scripts that pass for Latin ones, by the Latin letter they pass for, taken from
 * Unicode's confusables data (UTS #39, confusables.txt) for the scripts a disguise reaches for
 * first: Cyrillic, Greek, Armenian and Latin's own small capitals and IPA letters. Written as
 * escapes on purpose: in a table of look-alikes, literal letters cannot be told apart by a reader.
 *
 * Fullwidth, mathematical, circled and other styled letters are not here: compatibility
 * decomposition (NFKD) already turns them into plain Latin.
 *
 * `i` also takes Latin `l`: capital I, small l, the Cyrillic palochka and Greek iota are one
 * vertical stroke in many fonts, so a disguise may use any of them for any other.
 */
const BY_LATIN: Record<string, string> = {
  a: "\u0410\u0430\u0391\u03b1\u0251\u1d00", // Cyrillic А а, Greek Α α, Latin ɑ ᴀ
  b: "\u0412\u0432\u0392\u0299", // Cyrillic В в, Greek Β, Latin ʙ
  c: "\u0421\u0441\u03f9\u03f2\u1d04", // Cyrillic С с, Greek Ϲ ϲ (lunate sigma), Latin ᴄ
  d: "\u0501\u1d05", // Cyrillic ԁ, Latin ᴅ
  e: "\u0415\u0435\u0395\u03b5\u03f5\u1d07", // Cyrillic Е е, Greek Ε ε ϵ, Latin ᴇ
  f: "\u03dc\ua730", // Greek Ϝ (digamma), Latin ꜰ
  g: "\u0581\u0261\u0262", // Armenian ց, Latin ɡ ɢ
  h: "\u041d\u043d\u04ba\u04bb\u0397\u0570\u029c", // Cyrillic Н н Һ һ, Greek Η, Armenian հ, Latin ʜ
  i: "l\u0406\u0456\u04c0\u04cf\u0399\u03b9\u0131\u0269\u026a\u029f", // Latin l, Cyrillic І і Ӏ ӏ, Greek Ι ι, Latin ı ɩ ɪ ʟ
  j: "\u0408\u0458\u03f3\u0237\u1d0a", // Cyrillic Ј ј, Greek ϳ, Latin ȷ ᴊ
  k: "\u041a\u043a\u039a\u03ba\u1d0b", // Cyrillic К к, Greek Κ κ, Latin ᴋ
  m: "\u041c\u043c\u039c\u1d0d", // Cyrillic М м, Greek Μ, Latin ᴍ
  n: "\u043f\u039d\u03b7\u0578\u0274", // Cyrillic п, Greek Ν η, Armenian ո, Latin ɴ
  o: "\u041e\u043e\u039f\u03bf\u03c3\u0555\u0585\u1d0f", // Cyrillic О о, Greek Ο ο σ, Armenian Օ օ, Latin ᴏ
  p: "\u0420\u0440\u03a1\u03c1\u1d18", // Cyrillic Р р, Greek Ρ ρ, Latin ᴘ
  q: "\u051a\u051b\u0566", // Cyrillic Ԛ ԛ, Armenian զ
  r: "\u0433\u0280", // Cyrillic г, Latin ʀ
  s: "\u0405\u0455\ua731", // Cyrillic Ѕ ѕ, Latin ꜱ
  t: "\u0422\u0442\u03a4\u03c4\u1d1b", // Cyrillic Т т, Greek Τ τ, Latin ᴛ
  u: "\u054d\u057d\u03c5\u1d1c", // Armenian Ս ս, Greek υ, Latin ᴜ
  v: "\u0474\u0475\u03bd\u1d20", // Cyrillic Ѵ ѵ, Greek ν, Latin ᴠ
  w: "\u051c\u051d\u03c9\u1d21", // Cyrillic Ԝ ԝ, Greek ω, Latin ᴡ
  x: "\u0425\u0445\u03a7\u03c7", // Cyrillic Х х, Greek Χ χ
  y: "\u0423\u0443\u04ae\u04af\u03a5\u03b3\u028f", // Cyrillic У у Ү ү, Greek Υ γ, Latin ʏ
  z: "\u0396\u1d22", // Greek Ζ, Latin ᴢ
};

/** Each look-alike letter to the lowercase Latin letter it passes for. */
export const LOOK_ALIKES: ReadonlyMap<string, string> = new Map(
  Object.entries(BY_LATIN).flatMap(([latin, letters]) => [...letters].map((letter) => [letter, latin])),
);
