// Shared by the hooks preloaded into the jsii Node.js runtime (readable_addresses.js,
// no_token_stack_traces.js, one_resolve_pass.js): patch a module of the cdktf package once, when
// Node.js first loads it, before anything can use it. And by the three that rewrite a module's
// source before Node.js compiles it (resolve_plain_strings.js, tarball_digests.js,
// no_inline_source_maps.js): `rewriteOnCompile`.
"use strict";
const Module = require("module");
const path = require("path");

/**
 * Call `patch(exports, resolvedPath)` once, the first time Node.js loads cdktf's `lib/<file>.js`
 * (`file`: "terraform-stack", "tokens/private/stack-trace").
 */
function onCdktfModule(file, patch) {
  const modulePath = path.join("cdktf", "lib", ...file.split("/")) + ".js";
  const request = path.basename(file);
  const patched = new WeakSet();
  const originalLoad = Module._load;
  Module._load = function (requested, parent, isMain) {
    const loaded = originalLoad.apply(this, arguments);
    if (typeof requested !== "string" || !requested.endsWith(request) || patched.has(loaded)) {
      return loaded;
    }
    let resolved;
    try {
      resolved = Module._resolveFilename(requested, parent, isMain);
    } catch (error) {
      return loaded;
    }
    if (resolved.endsWith(modulePath)) {
      patched.add(loaded);
      patch(loaded, resolved);
    }
    return loaded;
  };
}

/**
 * Call `patch(value)` with `exports[name]` as soon as it is set.
 *
 * cdktf's modules are first required from inside a require cycle, before their last lines
 * (`exports.TerraformStack = TerraformStack`) have run: the export is still undefined when the
 * module is first returned. Several hooks may wait for the same export; each one's setter calls the
 * one that was in place before it.
 */
function whenExported(exports, name, patch) {
  if (exports[name]) {
    patch(exports[name]);
    return;
  }
  const earlier = Object.getOwnPropertyDescriptor(exports, name);
  const earlierSet = earlier && earlier.set;
  let value;
  Object.defineProperty(exports, name, {
    configurable: true,
    enumerable: true,
    get: () => value,
    set: (assigned) => {
      if (earlierSet) earlierSet(assigned);
      value = assigned;
      if (assigned) patch(assigned);
    },
  });
}

/**
 * Have Node.js compile every module from `rewrite(content, filename)` instead of its source (return
 * `content` to leave a module as it is). Hooks preloaded later wrap this one: their rewrite runs
 * first, and this one gets what it returns.
 */
function rewriteOnCompile(rewrite) {
  const originalCompile = Module.prototype._compile;
  Module.prototype._compile = function (content, filename) {
    if (typeof content !== "string" || typeof filename !== "string") {
      return originalCompile.apply(this, arguments);
    }
    const args = Array.prototype.slice.call(arguments);
    args[0] = rewrite(content, filename);
    return originalCompile.apply(this, args);
  };
}

module.exports = { onCdktfModule, whenExported, rewriteOnCompile };
