// DPoP and certificate-bound tokens through the Express 5 middleware (Express 4: express4.test.ts).
import express from 'express'
import t from 'tap'
import { runExpressSenderConstraint } from './fixtures/sender-constraint.js'

await runExpressSenderConstraint(t, express)
