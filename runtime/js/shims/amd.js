// An AMD `define` for a package whose browser build is an AMD module (node-mailjet's):
// injected into that bundle only, it keeps what the module defines for the entry.
let defined;
export function define(deps, factory) {
  const make = typeof deps === 'function' ? deps : factory;
  defined = typeof make === 'function' ? make() : make;
}
define.amd = {};
export function definedModule() {
  return defined;
}
