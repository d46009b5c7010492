export { WELL_KNOWN_PATH, protectedResourceMetadataUrl } from '@bearerkit/http'
