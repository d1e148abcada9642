// Preloaded into the jsii Node.js runtime by modules/cdk.py (NODE_OPTIONS=--require ...).
//
// On every start the jsii kernel finds each assembly in its package cache by the SHA-256 of the
// package tarball Python hands it: for the AWS provider, 34 MB read and hashed in 16 KB chunks, about
// 80 ms of every synth, for the same file as last time. The hook remembers each digest in a small
// JSON file (SYNTH_TARBALL_DIGESTS, set by modules/cdk.py: in the synth cache), keyed by the tarball's
// path, size, modification time and inode and by what jsii hashes with it (the package's name and
// version); a tarball that changed in any of these is hashed again. What the kernel does with the
// digest (find the cache entry, or extract into a new one and check the digest again) is unchanged.
//
// The digest is computed inside the kernel's bundled program (lib/program.js), so the hook rewrites
// that one call in its source as Node.js compiles it; if the call is not there as expected (another
// jsii version), it changes nothing. SYNTH_HASH_TARBALLS=1 (modules/cdk.py) leaves jsii as it is.
"use strict";
const { rewriteOnCompile } = require("./cdktf_module_patch.js");
const fs = require("fs");
const path = require("path");

const PROGRAM = path.join("lib", "program.js");
// In jsii 1.142.0's extractViaCache: `e` the tarball, `f` the package's name and version.
const DIGEST_CALL = "_=(0,V.digestFile)(e,...f)";
const REMEMBERED_CALL = "_=globalThis.__synthTarballDigest(e,f,()=>(0,V.digestFile)(e,...f))";
const MEMO_FILE = process.env.SYNTH_TARBALL_DIGESTS;

let memo;

function readMemo() {
  try {
    const read = JSON.parse(fs.readFileSync(MEMO_FILE, "utf8"));
    return read && typeof read === "object" && !Array.isArray(read) ? read : {};
  } catch (error) {
    return {};
  }
}

function writeMemo() {
  const partial = `${MEMO_FILE}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(MEMO_FILE), { recursive: true });
    fs.writeFileSync(partial, JSON.stringify(memo, null, 1) + "\n");
    fs.renameSync(partial, MEMO_FILE);
  } catch (error) {
    // A cache that cannot be written costs the next synth a hash, nothing else.
    try {
      fs.unlinkSync(partial);
    } catch (ignored) {}
  }
}

function tarballDigest(tarball, hashedWith, compute) {
  let stat;
  try {
    stat = fs.statSync(tarball, { bigint: true });
  } catch (error) {
    return compute();
  }
  const key = JSON.stringify([path.resolve(tarball), `${stat.size}`, `${stat.mtimeNs}`, `${stat.ino}`, hashedWith]);
  if (memo === undefined) memo = readMemo();
  const known = memo[key];
  if (typeof known === "string" && /^[0-9a-f]{64}$/.test(known)) return Buffer.from(known, "hex");
  const digest = compute();
  memo[key] = digest.toString("hex");
  writeMemo();
  return digest;
}

if (MEMO_FILE) {
  globalThis.__synthTarballDigest = tarballDigest;
  rewriteOnCompile((content, filename) =>
    filename.endsWith(PROGRAM) && content.includes("extractViaCache") && content.split(DIGEST_CALL).length === 2
      ? content.replace(DIGEST_CALL, REMEMBERED_CALL)
      : content,
  );
}
