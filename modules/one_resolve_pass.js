// Preloaded into the jsii Node.js runtime by modules/cdk.py (NODE_OPTIONS=--require ...).
//
// cdktf resolves every stack twice. app.synth() first calls each stack's prepareStack(), which
// resolves every element and throws the result away: a "preparing" pass, there so that a reference
// from one stack to another can add an output to the first stack and a terraform_remote_state to
// the second. Then each stack is resolved again and written. The platform's stacks never refer to
// one another (each environment has its own state; the bootstrap stack only creates the state
// backend), so the first pass adds nothing, and it is about a sixth of a synth's Node.js time.
//
// The hook keeps prepareStack's backend check and drops the preparing pass. A reference across
// stacks, which cdktf would have wired through remote state, would now be written wrong; instead
// it fails the synth with an error that starts with CROSS_STACK_MARKER and names both stacks.
//
// SYNTH_PREPARING_RESOLVE=1 (modules/cdk.py) leaves cdktf as it is, to compare.
"use strict";
const path = require("path");
const { onCdktfModule, whenExported } = require("./cdktf_module_patch.js");

const CROSS_STACK_MARKER = "Cross-stack reference: ";

// The class of the tokens `ref()` makes (tfExpression.js exports the function, not the class).
function checkCrossStackReferences(expressionModule, TerraformStack) {
  const Reference = Object.getPrototypeOf(expressionModule.ref("x")).constructor;
  const originalResolve = Reference.prototype.resolve;
  if (typeof originalResolve !== "function") {
    throw new Error("one_resolve_pass.js: cdktf's Reference.resolve is gone; update the hook");
  }
  Reference.prototype.resolve = function (context) {
    if (!context.preparing && this.originStack) {
      const stack = TerraformStack.of(context.scope);
      if (stack !== this.originStack && !this.crossStackIdentifier[stack.toString()]) {
        throw new Error(
          `${CROSS_STACK_MARKER}stack ${stack.node.id} refers to ${this.identifier} of stack ` +
            `${this.originStack.node.id}; the platform's stacks share no values`,
        );
      }
    }
    return originalResolve.call(this, context);
  };
}

function patch(TerraformStack, stackModulePath) {
  if (!TerraformStack || typeof TerraformStack.prototype.ensureBackendExists !== "function") {
    throw new Error("one_resolve_pass.js: cdktf's TerraformStack.ensureBackendExists is gone; update the hook");
  }
  let checking = false;
  TerraformStack.prototype.prepareStack = function () {
    if (!checking) {
      // Loaded long before the first synth: terraform-stack.js itself requires it.
      checkCrossStackReferences(require(path.join(path.dirname(stackModulePath), "tfExpression.js")), TerraformStack);
      checking = true;
    }
    this.ensureBackendExists();
  };
}

onCdktfModule("terraform-stack", (exports, resolved) =>
  whenExported(exports, "TerraformStack", (TerraformStack) => patch(TerraformStack, resolved)),
);
