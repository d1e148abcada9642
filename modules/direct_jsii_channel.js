// Preloaded into the jsii Node.js runtime by modules/cdk.py (NODE_OPTIONS=--require ...).
//
// jsii starts `node bin/jsii-runtime.js`, a relay: it spawns a second Node.js process running
// lib/program.js (the kernel), which speaks the jsii protocol on its file descriptor 3, and pipes the
// Python side's stdin and stdout to and from it. Every call then crosses two extra pipes and the
// relay's event loop: about 160 µs a round trip against 80 µs without it, for the ~1,000 round trips
// of a synth, and a second Node.js start.
//
// In the relay process, this hook runs the kernel in place of the relay: fd 3 reads become reads of
// stdin and fd 3 writes become writes of stdout (the kernel reads and writes fd 3 synchronously, with
// fs.readSync and fs.writeSync). What the kernel's JavaScript prints goes to stderr wrapped the way the
// relay wraps it ({"stdout"|"stderr": base64} lines, which the Python side unwraps), so nothing but
// protocol messages reaches stdout. The kernel lays out packages as symbolic links into the jsii
// package cache only when Node.js preserves symbolic links, which the relay asked of the child with
// --preserve-symlinks; modules/cdk.py puts it in NODE_OPTIONS and it is recorded here the way the
// kernel reads it (process.execArgv). Without it the kernel would copy the 400 MB provider package.
//
// If the relay's layout ever changes (no bin/jsii-runtime.js beside lib/program.js), nothing is
// replaced and the relay runs as usual. SYNTH_JSII_RELAY=1 keeps the relay, to compare.
"use strict";
const fs = require("fs");
const path = require("path");

const KERNEL_FD = 3;
const relay = process.argv[1] || "";
const program = path.resolve(path.dirname(relay), "..", "lib", "program.js");

if (
  path.basename(relay) === "jsii-runtime.js" &&
  path.basename(path.dirname(relay)) === "bin" &&
  fs.existsSync(program) &&
  process.execArgv.indexOf("--preserve-symlinks") === -1
) {
  const Module = require("module");
  // fd 3 is libuv's own (its epoll descriptor) in a process started this way. Were it free, a file
  // opened later would get it and its reads would be taken for the channel's: keep it taken.
  try {
    fs.fstatSync(KERNEL_FD);
  } catch {
    fs.openSync("/dev/null", "r");
  }
  const readSync = fs.readSync;
  const writeSync = fs.writeSync;

  fs.readSync = function (fd, ...rest) {
    return readSync.call(this, fd === KERNEL_FD ? 0 : fd, ...rest);
  };
  fs.writeSync = function (fd, ...rest) {
    return writeSync.call(this, fd === KERNEL_FD ? 1 : fd, ...rest);
  };

  const wrapped = (stream) =>
    function (chunk, encoding, callback) {
      const data = Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(String(chunk), typeof encoding === "string" ? encoding : "utf8");
      writeSync(2, `${JSON.stringify({ [stream]: data.toString("base64") })}\n`);
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") process.nextTick(done);
      return true;
    };
  process.stdout.write = wrapped("stdout");
  process.stderr.write = wrapped("stderr");

  process.execArgv.push("--preserve-symlinks");
  Module.runMain = function () {
    require(program);
  };
}
