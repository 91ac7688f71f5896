import { describe, expect, it } from "vitest";
import { checkEdit } from "../../src/forge/check-commit.js";

function write(content: string, path = ".gitmodules") {
  return () => checkEdit([{ path, content }], { allow: ["submodules"] });
}

const section = '[submodule "lib"]\n\tpath = lib\n';

describe("checkEdit > a .gitmodules the repository allows still cannot run commands (issue 11, class 8)", () => {
  it.each([
    ["an ext:: URL", `${section}\turl = ext::sh -c touch% /tmp/pwned\n`, /transport that runs a command/],
    ["an ext:: URL in capitals", `${section}\turl = EXT::sh -c id\n`, /transport/],
    ["an fd:: URL", `${section}\turl = fd::3\n`, /transport/],
    ["a quoted ext:: URL", `${section}\turl = "ext::sh -c id"\n`, /transport/],
    ["an ext:: URL split by quotes", `${section}\turl = "ext"::sh -c id\n`, /transport/],
    ["an ext:: URL on a continued line", `${section}\turl = ex\\\nt::sh -c id\n`, /transport/],
    ["an ext:: URL with CRLF line ends", `${section.replace(/\n/g, "\r\n")}\turl = ext::sh\r\n`, /transport/],
    ["a key on the section's line", '[submodule "x"] url = ext::sh -c id\n', /transport/],
    ["a URL read as an option", `${section}\turl = -u./payload\n`, /starts with "-"/],
    [
      "a path read as an option",
      '[submodule "x"]\n\tpath = --upload-pack=x\n\turl = https://e.x/x\n',
      /starts with "-"/,
    ],
    [
      "update = !command",
      `${section}\turl = https://e.x/lib\n\tupdate = !sh -c id\n`,
      /update.*runs a command/,
    ],
    ["a URL key in another case", `${section}\tURL = ext::sh\n`, /transport/],
    ["a nested .gitmodules", `${section}\turl = ext::sh\n`, /transport/, "vendor/.gitmodules"],
    ["a Windows spelling of the name", `${section}\turl = ext::sh\n`, /transport/, ".GITMODULES."],
  ])("refuses %s", (_, content, rule, path = ".gitmodules") => {
    expect(write(content, path)).toThrow(rule);
    expect(write(content, path)).toThrow(/even with edits\.allow: \[submodules\]/);
  });

  it.each([
    ["an https URL", `${section}\turl = https://example.com/lib.git\n`],
    ["an ssh URL with a comment", `${section}\turl = git@example.com:lib.git ; the mirror\n`],
    [
      "a relative URL and update = rebase",
      `${section}\turl = ../lib.git\n\tupdate = rebase\n\tbranch = main\n`,
    ],
    ["a quoted hash sign", `${section}\turl = "https://example.com/a#b"\n`],
  ])("writes %s", (_, content) => {
    expect(write(content)()).toHaveLength(1);
  });
});
