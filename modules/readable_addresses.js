// Preloaded into the jsii Node.js runtime by modules/cdk.py (NODE_OPTIONS=--require ...).
//
// Readable Terraform addresses. cdktf names every resource after its construct path, cut to fit
// and followed by an 8-character hash (`aws_ecs_service.services_web_service_D814BFBB`); plan
// reviewers read these names. We replace TerraformStack.allocateLogicalId so the name is the
// construct path below the stack, each ID with every run of characters other than letters and
// digits turned into one "_", joined by "_" (`aws_ecs_service.services_web_service`). The name
// depends on the construct IDs alone, which each construct chooses on purpose, so it is stable.
//
// Done here rather than as a Python override of allocateLogicalId: that would cost a Node ->
// Python callback plus two property reads per element, about a tenth of a second per synth.
//
// Two paths that spell the same name for one element type (IDs differing only in punctuation)
// would share one address; the first such pair in a stack fails the synth with an error that
// starts with COLLISION_MARKER (modules/cdk.py turns it into AddressCollision).
"use strict";
const { onCdktfModule, whenExported } = require("./cdktf_module_patch.js");

const COLLISION_MARKER = "Terraform address collision: ";
const NOT_A_NAME_CHARACTER = /[^A-Za-z0-9]+/g;

function readableName(constructIds) {
  return constructIds
    .map((id) => id.replace(NOT_A_NAME_CHARACTER, "_").replace(/^_+|_+$/g, ""))
    .filter((part) => part.length > 0)
    .join("_");
}

function patch(TerraformStack) {
  if (!TerraformStack || typeof TerraformStack.prototype.allocateLogicalId !== "function") {
    throw new Error("readable_addresses.js: cdktf's TerraformStack.allocateLogicalId is gone; update the hook");
  }
  TerraformStack.prototype.allocateLogicalId = function (element) {
    const node = element.node && element.node.scopes ? element.node : element;
    const below = node.scopes.slice(node.scopes.indexOf(this) + 1).map((scope) => scope.node.id);
    const name = readableName(below);
    const shown = below.join("/");
    // Terraform's namespace: a name must be unique per element type ("aws_vpc", "data.aws_x",
    // outputs), so an ECR repository and a lifecycle policy may share one.
    const key = `${element._elementType || ""} ${name}`;
    if (!this.__readableOwners) this.__readableOwners = new Map();
    const owner = this.__readableOwners.get(key);
    if (owner === undefined) {
      this.__readableOwners.set(key, shown);
    } else if (owner !== shown) {
      throw new Error(
        `${COLLISION_MARKER}in stack ${this.node.id}, ${owner} and ${shown} would both be named ` +
          `"${name}"; rename one of them`,
      );
    }
    return name;
  };
}

onCdktfModule("terraform-stack", (exports) => whenExported(exports, "TerraformStack", patch));
