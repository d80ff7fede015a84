/* Secrets in the URLs people see. An API key or a token often rides in a
 * URL's query (?apikey=..., &access_token=...), or in its fragment, where
 * OAuth hands one back in a redirect (#access_token=...). Every URL of a
 * target that is shown (its own and the Location of its answers) hides
 * the values of such parameters: those named by the target's redact_query
 * and the usual names below, compared without regard to case. Pure:
 * strings in, strings out. */
#ifndef UPMON_REDACT_H
#define UPMON_REDACT_H

#include <stdbool.h>
#include <stddef.h>

/* What a hidden value shows as. */
#define REDACT_HIDDEN "(hidden)"

/* The names always hidden: token, access_token, key, apikey, api_key,
 * secret, client_secret, password, passwd, pwd, sig, signature, auth. */
extern const char *const redact_default_names[];
extern const size_t redact_ndefault;

/* Whether a parameter name, as written in a URL (api%5Fkey is api_key),
 * is one of the usual names or one of names[0..n), without regard to
 * case. */
bool redact_name_matches(const char *name, size_t len, char *const *names, size_t n);

/* url with the value of each such parameter of its query and of its
 * fragment replaced by REDACT_HIDDEN ("?apikey=(hidden)&page=2"): every
 * other byte as it was, parameters in their order. Parameters are
 * separated by "&"; a parameter with no value, or an empty one, hides
 * nothing and stays as it is. A new string. */
char *redact_url(const char *url, char *const *names, size_t n);

#endif
