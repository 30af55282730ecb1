// Usernames in the page: the server's rule said in words, and the one check of "may I
// message this user?" (its format now; whether the user exists once the server can say so).

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
 * There is no "does this user exist" operation yet, so an unknown user is found out by
 * the first send (`not_found`, see `noSuchUser`); when profiles exist, ask here.
 */
export async function checkUser(name, me) {
  const problem = usernameProblem(name);
  if (problem) return { ok: false, why: problem };
  if (name === me) return { ok: false, why: 'That is you.' };
  return { ok: true };
}

/** What the page says when a send finds no such user. */
export const noSuchUser = (name) => `No user named ${name}.`;
