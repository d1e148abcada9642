// Preloaded into the jsii Node.js runtime by modules/cdk.py (NODE_OPTIONS=--require ...).
//
// Every cdktf token (each attribute reference, each nested list or map of a resource) records the
// JavaScript stack it was created on (`creationStack`), through Error.captureStackTrace with an
// unlimited depth and then a formatted, split string. Nothing of it reaches the synthesized JSON:
// cdktf prints it only inside a token resolution error. Under jsii the stack is the kernel's own
// frames, not the Python line that made the token, so even there it tells a user nothing. It costs
// about 6% of a synth's Node.js time; the hook makes it the empty stack cdktf already handles.
//
// SYNTH_TOKEN_STACK_TRACES=1 (modules/cdk.py) leaves cdktf as it is, to compare or to debug cdktf.
"use strict";
const { onCdktfModule } = require("./cdktf_module_patch.js");

onCdktfModule("tokens/private/stack-trace", (exports) => {
  if (typeof exports.captureStackTrace !== "function") {
    throw new Error("no_token_stack_traces.js: cdktf's captureStackTrace is gone; update the hook");
  }
  // Callers read the export at each call (`(0, stack_trace_1.captureStackTrace)()`).
  exports.captureStackTrace = function captureStackTrace() {
    return [];
  };
});
