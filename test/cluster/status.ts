// Kubernetes `Status` objects for API errors, shaped like the real apiserver's (metav1.Status).

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
}

export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

/** An error that the API server answers with a Status body and its HTTP code. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): StatusObject {
    const status: StatusObject = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }
}

/** `plural` is the resource name, `group` the API group ('' for core), as the apiserver writes them. */
export interface ResourceRef {
  group: string;
  plural: string;
}

function qualified(ref: ResourceRef): string {
  return ref.group ? `${ref.plural}.${ref.group}` : ref.plural;
}

export function notFound(ref: ResourceRef, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(ref)} "${name}" not found`, {
    name,
    group: ref.group || undefined,
    kind: ref.plural,
  });
}

export function alreadyExists(ref: ResourceRef, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualified(ref)} "${name}" already exists`, {
    name,
    group: ref.group || undefined,
    kind: ref.plural,
  });
}

export function conflict(ref: ResourceRef, name: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(ref)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: ref.group || undefined, kind: ref.plural },
  );
}

export function invalid(kind: string, group: string, name: string, causes: { field: string; message: string }[]): ApiError {
  const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, {
    name,
    group: group || undefined,
    kind,
    causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

/** The apiserver's RBAC denial text, e.g. `pods "x" is forbidden: User "u" cannot create resource "pods/exec" ...`. */
export function forbidden(
  user: string,
  verb: string,
  ref: ResourceRef & { subresource?: string },
  namespace: string | undefined,
  name: string | undefined,
): ApiError {
  const full = ref.subresource ? `${ref.plural}/${ref.subresource}` : ref.plural;
  const subject = name ? `${qualified(ref)} "${name}"` : qualified(ref);
  const scope = namespace ? ` in the namespace "${namespace}"` : ' at the cluster scope';
  return new ApiError(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "${full}" in API group "${ref.group}"${scope}`,
    { name, group: ref.group || undefined, kind: ref.plural },
  );
}

export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, {
    causes: [{ message }],
  });
}

export function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${contentType})`);
}

/** A Status for an arbitrary code, used by fault injection. */
export function statusForCode(code: number, message?: string): ApiError {
  const reasons: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'NotFound',
    409: 'Conflict',
    410: 'Expired',
    422: 'Invalid',
    429: 'TooManyRequests',
    500: 'InternalError',
    503: 'ServiceUnavailable',
    504: 'Timeout',
  };
  const reason = reasons[code] ?? 'Unknown';
  return new ApiError(code, reason, message ?? `injected fault: ${reason} (${code})`);
}
