import t from 'tap'
import { MemoryProvider } from '../src/index.js'

// Red-team finding "Language-tagged metadata members skip registration checks": RFC 7591 §2.2
// lets a client send `logo_uri#en`, `client_name#ja` ...; only the bare names were checked, so
// `javascript:` URLs and oversized names were stored under a language tag.

const base = { redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none' }

t.test('Language-tagged metadata members skip registration checks', async (t) => {
  const provider = new MemoryProvider({ issuer: 'https://as.example' })
  let n = 0
  const register = (extra: Record<string, unknown>) =>
    provider.registerClient({ ...base, client_id: `c-${++n}`, ...extra })
  for (const [member, value, message] of [
    ['logo_uri#en', 'javascript:alert(document.cookie)', 'logo_uri#en must be an https URL'],
    ['client_uri#fr-FR', 'data:text/html,<script>1</script>', 'client_uri#fr-FR must be an https'],
    ['policy_uri#de', 'https://user:pw@evil.example/', 'policy_uri#de must be an https URL'],
    ['tos_uri#', 'http://evil.example/', 'tos_uri# must be an https URL'],
    ['client_name#ja', 'x'.repeat(1001), 'client_name#ja must be a string of at most 1000'],
    ['software_id#en', 42, 'software_id#en must be a string'],
  ] as const) {
    await t.rejects(
      register({ [member]: value }),
      {
        error: 'invalid_client_metadata',
        message: new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
      },
      member,
    )
  }
  // Well-formed tagged members are kept as sent.
  const id = `c-${++n}`
  await provider.registerClient({
    ...base,
    client_id: id,
    'logo_uri#en': 'https://app.example/logo-en.png',
    'client_name#ja': 'アプリ',
  })
  t.match(await provider.getClient(id), {
    'logo_uri#en': 'https://app.example/logo-en.png',
    'client_name#ja': 'アプリ',
  })
})
