// Preloaded into the jsii Node.js runtime by modules/cdk.py (NODE_OPTIONS=--require ...).
//
// Synth resolves every value of every element through cdktf's resolve() (lib/tokens/private/
// resolve.js), one call per value, and most values are plain leaves: names, ARNs, JSON policies,
// numbers, booleans. For each, resolve() builds a resolution context for the value (closures, a
// spread of its options, a longer path), then finds no token in it and returns it unchanged: most of
// synth's resolve time. The hook rewrites that function so that it returns exactly those values at
// once:
// - a string with no "TfToken[" in it (no string, list or map token can be encoded there), that is
//   not one of the two map-token marker strings (which resolve() refuses with an error) and has no
//   match of cdktf's own number-token pattern (a number token is encoded as a number);
// - a number that does not decode as a number token and is not the number map-token marker;
// - a boolean, null or undefined;
// - never deeper than resolve()'s cycle guard (which throws, whatever the value).
// Three places take that shortcut: the start of resolve() (a plain string), and the loops over an
// object's keys and values and over an array's elements, which then skip the child's context too.
// Anything else goes the usual way. The hook rewrites the module's source as Node.js compiles it;
// each place changes only if cdktf's source has its line exactly, and nothing changes if the
// function's first lines are not as expected.
//
// SYNTH_RESOLVE_EVERY_STRING=1 (modules/cdk.py) leaves cdktf as it is, to compare.
"use strict";
const path = require("path");
const { rewriteOnCompile } = require("./cdktf_module_patch.js");

const RESOLVE_MODULE = path.join("cdktf", "lib", "tokens", "private", "resolve.js");
const ANCHOR = "function resolve(obj, options) {\n    const prefix = options.prefix || [];\n";
const REQUIRED = ["const token_1 = require(", "const encoding_1 = require("];
// cdktf's NUMBER_TOKEN_REGEX (encoding.js), without the global flag, so test() keeps no state.
const HELPERS =
  "const __numberTokenCandidate = /[-|\\d|.\\+]+(e[-|\\d|.|e|E|\\+]+)/;\n" +
  "function __plainString(s) {\n" +
  '    return s.indexOf("TfToken[") === -1 && s !== token_1.Token.STRING_MAP_TOKEN_VALUE &&\n' +
  "        s !== token_1.Token.ANY_MAP_TOKEN_VALUE && !__numberTokenCandidate.test(s);\n" +
  "}\n" +
  "function __plainLeaf(x, depth) {\n" +
  "    if (depth > 200) return false;\n" +
  "    switch (typeof x) {\n" +
  '        case "string": return __plainString(x);\n' +
  '        case "boolean": case "undefined": return true;\n' +
  '        case "number": return x !== token_1.Token.NUMBER_MAP_TOKEN_VALUE &&\n' +
  "            encoding_1.extractTokenDouble(x, false) === undefined;\n" +
  "        default: return x === null;\n" +
  "    }\n" +
  "}\n";
const EARLY_RETURN =
  '    if (typeof obj === "string" && prefix.length <= 200 && __plainString(obj)) {\n' +
  "        return obj;\n" +
  "    }\n";
// [cdktf's line, its replacement]: the children of an object or array that are plain leaves.
const LEAF_SHORTCUTS = [
  [
    "            .map((x, i) => makeContext(`${i}`)[0].resolve(x))\n",
    "            .map((x, i) => __plainLeaf(x, prefix.length + 1) ? x : makeContext(`${i}`)[0].resolve(x))\n",
  ],
  [
    "        const resolvedKey = makeContext()[0].resolve(key);\n",
    "        const resolvedKey = __plainString(key) ? key : makeContext()[0].resolve(key);\n",
  ],
  [
    "        const value = makeContext(key)[0].resolve(obj[key]);\n",
    "        const __raw = obj[key];\n" +
      "        const value = __plainLeaf(__raw, prefix.length + 1) ? __raw : makeContext(key)[0].resolve(__raw);\n",
  ],
];

function once(text, part) {
  const at = text.indexOf(part);
  return at !== -1 && text.indexOf(part, at + 1) === -1;
}

function withEarlyReturn(source) {
  if (!once(source, ANCHOR) || !REQUIRED.every((line) => source.includes(line))) return source;
  // Declared just above the function (not first in the file, where it would displace "use strict").
  let rewritten = source.replace(ANCHOR, HELPERS + ANCHOR + EARLY_RETURN);
  for (const [line, replacement] of LEAF_SHORTCUTS) {
    if (once(rewritten, line)) rewritten = rewritten.replace(line, () => replacement);
  }
  return rewritten;
}

rewriteOnCompile((content, filename) => (filename.endsWith(RESOLVE_MODULE) ? withEarlyReturn(content) : content));

module.exports = { withEarlyReturn, LEAF_SHORTCUTS };
