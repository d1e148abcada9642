// Preloaded into the jsii Node.js runtime by modules/cdk.py (NODE_OPTIONS=--require ...).
//
// Synth resolves every value of every element through cdktf's resolve() (lib/tokens/private/
// resolve.js), one call per value, and most values are plain strings: names, ARNs, JSON policies.
// For a string, resolve() builds a resolution context (closures, an object spread), then tests it
// against three token patterns and returns it unchanged when none matches; about half of synth's
// resolve time. The hook adds one early return to that function, for exactly the strings it would
// return unchanged:
// - no "TfToken[" in it: no string, list or map token can be encoded there;
// - not one of the two map-token marker strings (which resolve() refuses with an error);
// - no match of cdktf's own number-token pattern (a number token is encoded as a number);
// - not deeper than resolve()'s cycle guard (which throws, whatever the value).
// Anything else goes the usual way. The hook rewrites the module's source as Node.js compiles it; if
// cdktf's source no longer has the line it inserts after, it changes nothing.
//
// SYNTH_RESOLVE_EVERY_STRING=1 (modules/cdk.py) leaves cdktf as it is, to compare.
"use strict";
const Module = require("module");
const path = require("path");

const RESOLVE_MODULE = path.join("cdktf", "lib", "tokens", "private", "resolve.js");
const ANCHOR = "function resolve(obj, options) {\n    const prefix = options.prefix || [];\n";
// cdktf's NUMBER_TOKEN_REGEX (encoding.js), without the global flag, so test() keeps no state.
const DECLARATION = "const __numberTokenCandidate = /[-|\\d|.\\+]+(e[-|\\d|.|e|E|\\+]+)/;\n";
const EARLY_RETURN =
  '    if (typeof obj === "string" && prefix.length <= 200 && obj.indexOf("TfToken[") === -1 &&\n' +
  "        obj !== token_1.Token.STRING_MAP_TOKEN_VALUE && obj !== token_1.Token.ANY_MAP_TOKEN_VALUE &&\n" +
  "        !__numberTokenCandidate.test(obj)) {\n" +
  "        return obj;\n" +
  "    }\n";

function withEarlyReturn(source) {
  if (!source.includes(ANCHOR) || !source.includes("const token_1 = require(")) return source;
  // Declared just above the function (not first in the file, where it would displace "use strict").
  return source.replace(ANCHOR, DECLARATION + ANCHOR + EARLY_RETURN);
}

const originalCompile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  if (typeof filename === "string" && filename.endsWith(RESOLVE_MODULE)) {
    return originalCompile.call(this, withEarlyReturn(content), filename);
  }
  return originalCompile.apply(this, arguments);
};

module.exports = { withEarlyReturn };
