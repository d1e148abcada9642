// Preloaded into the jsii Node.js runtime by modules/cdk.py (NODE_OPTIONS=--require ...).
//
// The @cdktf/provider-aws package's lib/index.js runs `exports.vpc = require("./vpc")` for all
// ~2,135 resource modules: about 1.8 s and 500 MB on every synth, though a stack uses a few dozen.
// jsii finds a type by property access on that exports object (`exports.vpc.Vpc`), so we hand it
// an object whose properties are getters that require the module on first access. If the index
// ever stops matching that shape, nothing is replaced and Node loads it the usual way.
"use strict";
const Module = require("module");
const fs = require("fs");
const path = require("path");

const INDEX = path.join("@cdktf", "provider-aws", "lib", "index.js");
const EXPORT_LINE = /^exports\.(\w+) = require\("(\.\/[^"]+)"\);$/gm;
const originalLoad = Module._load;

function lazyIndex(resolved, parent) {
  const dir = path.dirname(resolved);
  const exportsObject = {};
  Object.defineProperty(exportsObject, "__esModule", { value: true });
  let count = 0;
  for (const [, name, relative] of fs.readFileSync(resolved, "utf8").matchAll(EXPORT_LINE)) {
    const file = path.join(dir, relative);
    count += 1;
    Object.defineProperty(exportsObject, name, {
      enumerable: true,
      configurable: true,
      get() {
        const value = require(file);
        Object.defineProperty(exportsObject, name, { value, enumerable: true });
        return value;
      },
    });
  }
  if (count === 0) return null;
  const mod = new Module(resolved, parent);
  mod.filename = resolved;
  mod.loaded = true;
  mod.exports = exportsObject;
  Module._cache[resolved] = mod;
  return exportsObject;
}

Module._load = function (request, parent, isMain) {
  let resolved;
  try {
    resolved = Module._resolveFilename(request, parent, isMain);
  } catch (error) {
    return originalLoad.apply(this, arguments);
  }
  if (!resolved.endsWith(INDEX) || Module._cache[resolved]) {
    return originalLoad.apply(this, arguments);
  }
  return lazyIndex(resolved, parent) || originalLoad.apply(this, arguments);
};
