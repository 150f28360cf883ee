/** A webhook that authenticated but cannot be accepted as it is (bad UTF-8, bad JSON, no event id): HTTP 400. */
export class InvalidPayloadError extends Error {
  override readonly name = 'InvalidPayloadError';
}

/** The source's signing secret cannot be read or is not set: fail closed with 503, so the vendor retries. */
export class SigningSecretUnavailableError extends Error {
  override readonly name = 'SigningSecretUnavailableError';
}

/** A vendor payload does not have the fields its canonical event needs. The record goes to the DLQ. */
export class MappingError extends Error {
  override readonly name = 'MappingError';
}

/** A required environment variable is missing or malformed: the function cannot start. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}
