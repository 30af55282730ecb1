// Usernames in the page: the server's rule said in words, and the one check of "may I
// message this user?" (its format, then whether the user exists, from `profiles`).

/** The server's rule for a username (`^[a-z0-9][a-z0-9_.-]{0,31}$`). */
const USERNAME = /^[a-z0-9][a-z0-9_.-]{0,31}$/;

/** The rule in words, for every place that asks for a name. */
export const USERNAME_RULE =
  'A username is 1 to 32 characters: lowercase letters, digits, and _ . - (starting with a letter or digit).';

/** Why `name` cannot be a username, in a sentence; null when it can. */
export function usernameProblem(name) {
  if (!name) return 'Enter a username.';
  if (USERNAME.test(name)) return null;
  if (name.length > 32) return `That name is ${name.length} characters long. ${USERNAME_RULE}`;
  return USERNAME_RULE;
}

/**
 * Whether `name` can be messaged: `{ok: true}`, or `{ok: false, why}` with a sentence.
 * `lookup(users)` asks the server for profiles (§13 `profiles`, which leaves unknown users
 * out); a server without it answers `bad_request`, and then the first send finds out
 * (`not_found`, see `noSuchUser`).
 */
export async function checkUser(name, me, lookup = null) {
  const problem = usernameProblem(name);
  if (problem) return { ok: false, why: problem };
  if (name === me) return { ok: false, why: 'That is you.' };
  if (!lookup) return { ok: true };
  try {
    const found = await lookup([name]);
    if (!found.some((p) => p.user === name)) return { ok: false, why: noSuchUser(name) };
    if (found.some((p) => p.user === name && p.deleted_user)) return { ok: false, why: `${name} deleted their account.` };
  } catch (e) {
    if (!(e.code === 'bad_request' && /unknown|operation/i.test(e.message))) return { ok: false, why: e.message };
  }
  return { ok: true };
}

/** What the page says when a send finds no such user. */
export const noSuchUser = (name) => `No user named ${name}.`;
