// Preloaded into the jsii Node.js runtime by modules/cdk.py (NODE_OPTIONS=--require ...).
//
// Loading cdktf loads two npm packages that a synth of this platform never calls:
// - archiver (lib/private/fs.js), which zips a TerraformAsset's directory; the platform builds its
//   one archive, the Discord notifier's, itself (modules/notifications/discord/package.py);
// - semver (lib/validations/validate-binary-version.js), which compares a `terraform version`
//   against a construct's minimum; only a cloud backend, an import block or a moved block adds one.
// Together they are about half of cdktf's load time (100 ms, ~150 modules). cdktf binds each to a
// module constant when it loads (`const archiver = require("archiver")`), so the hook hands it a
// stand-in that loads the package the first time it is called or a property of it is read: a
// synth that does zip an asset, or check a version, gets the real package, only later.
//
// SYNTH_EAGER_CDKTF_DEPENDENCIES=1 (modules/cdk.py) loads them as cdktf does.
"use strict";
const Module = require("module");
const path = require("path");

const LAZY = new Map([
  ["archiver", path.join("cdktf", "lib", "private", "fs.js")],
  ["semver", path.join("cdktf", "lib", "validations", "validate-binary-version.js")],
]);
const originalLoad = Module._load;

function onFirstUse(load) {
  let real;
  const target = () => (real === undefined ? (real = load()) : real);
  // A function, so that the stand-in can be called and constructed like archiver's export.
  return new Proxy(function lazyDependency() {}, {
    apply: (_stub, thisArg, args) => Reflect.apply(target(), thisArg, args),
    construct: (_stub, args) => Reflect.construct(target(), args),
    get: (_stub, property) => Reflect.get(target(), property),
    has: (_stub, property) => Reflect.has(target(), property),
  });
}

Module._load = function (request, parent, isMain) {
  const requiredBy = LAZY.get(request);
  if (requiredBy === undefined || !parent || !parent.filename || !parent.filename.endsWith(requiredBy)) {
    return originalLoad.apply(this, arguments);
  }
  const self = this;
  const args = arguments;
  return onFirstUse(() => originalLoad.apply(self, args));
};
