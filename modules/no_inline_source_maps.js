// Preloaded into the jsii Node.js runtime by modules/kernel.py (NODE_OPTIONS=--require ...).
//
// Every JavaScript file of cdktf and the provider ends with its source map inline, one comment line
// of base64 (`//# sourceMappingURL=data:application/json;base64,...`): 70% of a provider resource
// module's bytes (392 KB of ecs-service's 554 KB), about 8 MB over the ~90 modules a synth loads.
// V8 scans that line and keeps the URL it names, a copy of it, for every module it compiles, though
// nothing reads it: Node.js uses source maps only when they are enabled (`--enable-source-maps`),
// to map an error's stack trace to TypeScript lines, and jsii does not enable them. The hook cuts
// that last comment off a module's source before Node.js compiles it, when source maps are off; the
// code compiled is the same text up to that line, so nothing it does changes.
//
// SYNTH_INLINE_SOURCE_MAPS=1 (modules/kernel.py) leaves the sources as they are, to compare.
"use strict";
const { rewriteOnCompile } = require("./cdktf_module_patch.js");

const INLINE_MAP = "\n//# sourceMappingURL=data:";

/** The source without its trailing inline source map comment (unchanged when it has none). */
function withoutInlineSourceMap(content) {
  const at = content.lastIndexOf(INLINE_MAP);
  if (at === -1) return content;
  // Only the file's last line: code after it would mean it is no trailing source map.
  const end = content.indexOf("\n", at + 1);
  if (end !== -1 && content.slice(end).trim() !== "") return content;
  return content.slice(0, at + 1);
}

rewriteOnCompile((content) => (process.sourceMapsEnabled ? content : withoutInlineSourceMap(content)));

module.exports = { withoutInlineSourceMap };
