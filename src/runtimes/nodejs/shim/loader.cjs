"use strict";
// Part of the fngraph Node.js runtime shim (runtime.cjs). Runs INSIDE the sandbox.

const fs = require("fs");
const path = require("path");

// ---- loading --------------------------------------------------------------------------------
function isTypeModule(dir) {
  for (;;) {
    let text;
    try {
      text = fs.readFileSync(path.join(dir, "package.json"), "utf8");
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      try {
        return JSON.parse(text).type === "module";
      } catch {
        return false;
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return false;
    dir = up;
  }
}

async function loadModule(root, file) {
  const base = path.resolve(root, file);
  const exts = [".js", ".mjs", ".cjs", ""];
  const ext = exts.find((e) => {
    try {
      return fs.statSync(base + e).isFile();
    } catch {
      return false;
    }
  });
  if (ext === undefined) {
    const err = new Error(`Cannot find module '${file}' in ${root}`);
    err.code = "MODULE_NOT_FOUND";
    throw err;
  }
  const full = base + ext;
  if (ext === ".mjs" || (ext === ".js" && isTypeModule(path.dirname(full)))) {
    const { pathToFileURL } = require("url");
    return import(pathToFileURL(full).href);
  }
  return require(full);
}

function splitHandler(handler) {
  const i = handler.lastIndexOf(".");
  if (i <= 0 || i === handler.length - 1) {
    throw new Error(`handler '${handler}' is not of the form <file>.<function>`);
  }
  return [handler.slice(0, i), handler.slice(i + 1)];
}

async function resolveFunction(root, handler) {
  const [file, name] = splitHandler(handler);
  const mod = await loadModule(root, file);
  let fn = mod && mod[name];
  if (fn === undefined && mod && mod.default && typeof mod.default === "object") {
    fn = mod.default[name];
  }
  if (typeof fn !== "function") {
    throw new TypeError(`'${name}' exported by '${file}' is not a function (${typeof fn})`);
  }
  return fn;
}

module.exports = { resolveFunction };
