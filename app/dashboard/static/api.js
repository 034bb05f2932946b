// The dashboard's only way to the server: sign-in at /auth/token, sign-out at /auth/revoke and
// POST /graphql with the Bearer token, like any other client of the API. The tokens live in
// sessionStorage: they go with the tab and never reach another site.

const KEY = "labelgraph.dashboard.tokens";
const FORM = { "Content-Type": "application/x-www-form-urlencoded" };

/** Thrown when no valid sign-in is left: the page shows the sign-in form. */
export class SignedOut extends Error {}

/**
 * Thrown for an answer the page cannot use (a GraphQL error, a server failure). `codes` are the
 * errors' extensions.code (FORBIDDEN, ...), `data` what the answer held besides.
 */
export class ApiError extends Error {
  constructor(message, { codes = [], data = null } = {}) {
    super(message);
    this.codes = codes;
    this.data = data;
  }
}

function stored() {
  try {
    const tokens = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    return tokens && typeof tokens.access === "string" ? tokens : null;
  } catch {
    return null;
  }
}

function keep(answer) {
  sessionStorage.setItem(KEY, JSON.stringify({ access: answer.access_token, refresh: answer.refresh_token ?? null }));
}

export function signedIn() {
  return stored() !== null;
}

/** The password grant; rejects with the server's own description (wrong password, throttled). */
export async function signIn(username, password) {
  const response = await fetch("/auth/token", {
    method: "POST",
    headers: FORM,
    body: new URLSearchParams({ grant_type: "password", username, password }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || typeof answer.access_token !== "string") {
    throw new ApiError(answer.error_description || `Sign-in failed (HTTP ${response.status}).`);
  }
  keep(answer);
}

/** Ends the sign-in on the server too (the refresh token's family), then forgets the tokens. */
export async function signOut() {
  const tokens = stored();
  sessionStorage.removeItem(KEY);
  if (tokens?.refresh) {
    await fetch("/auth/revoke", { method: "POST", headers: FORM, body: new URLSearchParams({ token: tokens.refresh }) })
      .catch(() => undefined);
  }
}

let refreshing = null;

/** Trades the refresh token for a new pair (it rotates: the old one is used up). One at a time. */
function refresh() {
  const tokens = stored();
  if (!tokens?.refresh) {
    return Promise.resolve(false);
  }
  refreshing ??= (async () => {
    const response = await fetch("/auth/token", {
      method: "POST",
      headers: FORM,
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: tokens.refresh }),
    }).catch(() => null);
    const answer = response?.ok ? await response.json().catch(() => null) : null;
    if (answer && typeof answer.access_token === "string") {
      keep(answer);
      return true;
    }
    return false;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function post(query, variables) {
  const tokens = stored();
  if (!tokens) {
    return Promise.resolve(null);
  }
  return fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${tokens.access}` },
    body: JSON.stringify({ query, variables }),
  });
}

/** The data of a query; SignedOut when no token is accepted any more, ApiError for errors. */
export async function graphql(query, variables = {}) {
  let response = await post(query, variables);
  if (response?.status === 401 && (await refresh())) {
    response = await post(query, variables);
  }
  if (response === null || response.status === 401) {
    sessionStorage.removeItem(KEY);
    throw new SignedOut("Sign in to continue.");
  }
  const body = await response.json().catch(() => null);
  if (body === null || (!response.ok && !body.errors)) {
    throw new ApiError(`The API answered HTTP ${response.status}.`);
  }
  if (body.errors?.length) {
    throw new ApiError(body.errors.map((error) => error.message).join(" "), {
      codes: body.errors.map((error) => error.extensions?.code).filter(Boolean),
      data: body.data ?? null,
    });
  }
  return body.data;
}
