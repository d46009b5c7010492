import express from 'express'
import t from 'tap'
import { runConformance, sendOverHttp } from '../../http/test/fixtures/conformance.js'
import { conformanceApp, listen } from './fixtures/conformance-app.js'

t.test('conformance: Express 5 with express.urlencoded() before the middleware', async (t) => {
  const port = await listen(t, conformanceApp(express, true))
  await runConformance(t, (request) => sendOverHttp(port, request))
})

t.test('conformance: Express 5, the middleware reads form bodies itself', async (t) => {
  const port = await listen(t, conformanceApp(express, false))
  await runConformance(t, (request) => sendOverHttp(port, request))
})
