"use strict";
// Loaded by the shim's own warm-up (the `warm` message, PROTOCOL.md) so that a prewarmed runtime
// has compiled its module-loading and invoke paths before a function takes it.
exports.handler = async (event) => event;
