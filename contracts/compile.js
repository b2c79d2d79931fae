// Compiles a Solidity standard-JSON input read from stdin with the pinned npm `solc`
// and writes {"output": <standard-JSON output>, "compilerVersion": ..., "imports": {path: content}}
// to stdout. Library imports (@openzeppelin/..., @prb/...) are resolved through the compiler's
// import callback from this folder's node_modules, so no remapping or copy of a library exists.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const here = __dirname;
const imports = {};

function findImport(importPath) {
  const candidates = [path.join(here, "node_modules", importPath), path.join(here, "src", importPath)];
  for (const candidate of candidates) {
    const resolved = path.resolve(candidate);
    // Refuse anything that escapes the two roots (e.g. "../../etc/passwd").
    const roots = [path.join(here, "node_modules"), path.join(here, "src")].map((r) => path.resolve(r) + path.sep);
    if (!roots.some((r) => resolved.startsWith(r))) continue;
    if (fs.existsSync(resolved)) {
      const contents = fs.readFileSync(resolved, "utf8");
      imports[importPath] = contents;
      return { contents };
    }
  }
  return { error: "import not found: " + importPath };
}

const input = fs.readFileSync(0, "utf8");
const output = JSON.parse(solc.compile(input, { import: findImport }));
process.stdout.write(JSON.stringify({ output, compilerVersion: solc.version(), imports }));
