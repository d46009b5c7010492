// Node >= 20.19 (and >= 22.12) loads ES modules with require(): every @bearerkit package must
// load from CommonJS and expose the same names as through import.
/* eslint-disable @typescript-eslint/no-require-imports -- testing require() is this file's purpose */
'use strict'
const assert = require('node:assert/strict')
const { dependencies } = require('./package.json')

async function main() {
  const names = Object.keys(dependencies).filter((name) => name.startsWith('@bearerkit/'))
  assert.ok(names.length > 0, 'no @bearerkit packages installed')
  for (const name of names) {
    const required = require(name)
    const imported = await import(name)
    const exported = (ns) =>
      Object.keys(ns)
        .filter((key) => key !== 'module.exports' && key !== '__esModule')
        .sort()
    assert.deepEqual(exported(required), exported(imported), `${name}: require() and import differ`)
  }
  console.log(`required ${names.length} packages from CommonJS`)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
