/**
 * Form rules in plain words. The numbers mirror LIMITS in the backend's contract schemas
 * (a unit test keeps them equal); zod itself stays out of the bundle.
 */
export const RULES = {
  username: { min: 3, max: 32 },
  password: { min: 8, max: 128 },
  displayName: { min: 1, max: 64 },
  roomName: { min: 1, max: 80 },
  topic: { max: 250 },
} as const;

export type Field = 'username' | 'password' | 'displayName' | 'name' | 'topic';

const USERNAME_CHARS = /^[a-zA-Z0-9_.-]+$/;

/** The problem with one field's value, in plain words, or null when it is fine. */
export function checkField(field: Field, value: string, mode: 'login' | 'register' = 'register'): string | null {
  const v = field === 'password' ? value : value.trim();
  switch (field) {
    case 'username':
      if (!v) return 'Enter a username';
      if (mode === 'login') return null;
      if (v.length < RULES.username.min) return `Username must be at least ${RULES.username.min} characters`;
      if (v.length > RULES.username.max) return `Username must be at most ${RULES.username.max} characters`;
      if (!USERNAME_CHARS.test(v)) return 'Username may only use letters, digits and _ . -';
      return null;
    case 'password':
      if (!v) return 'Enter a password';
      if (mode === 'login') return null;
      if (v.length < RULES.password.min) return `Password must be at least ${RULES.password.min} characters`;
      if (v.length > RULES.password.max) return `Password must be at most ${RULES.password.max} characters`;
      return null;
    case 'displayName':
      // Optional: empty means "use the username".
      if (v.length > RULES.displayName.max) return `Display name must be at most ${RULES.displayName.max} characters`;
      return null;
    case 'name':
      if (!v) return 'Give the room a name';
      if (v.length > RULES.roomName.max) return `Room name must be at most ${RULES.roomName.max} characters`;
      return null;
    case 'topic':
      if (v.length > RULES.topic.max) return `Topic must be at most ${RULES.topic.max} characters`;
      return null;
  }
}

const LABEL: Record<Field, string> = { username: 'Username', password: 'Password', displayName: 'Display name', name: 'Room name', topic: 'Topic' };

/**
 * Plain words for a field problem the server reported (its `details` carry validator text
 * such as "Too small: expected string to have >=8 characters"): the rule, never the raw text.
 */
export function plainServerProblem(field: string, message: string): string {
  const f = field as Field;
  const lower = message.toLowerCase();
  if (f === 'username' && /may contain|invalid|regex|pattern/.test(lower)) return 'Username may only use letters, digits and _ . -';
  const r = f === 'name' ? RULES.roomName : (RULES as Record<string, { min?: number; max: number }>)[f];
  if (r) {
    if (/small|least|>=|empty|required/.test(lower)) {
      if (!r.min || r.min <= 1) return `${LABEL[f]} is required`;
      return `${LABEL[f]} must be at least ${r.min} characters`;
    }
    if (/big|most|<=|long/.test(lower)) return `${LABEL[f]} must be at most ${r.max} characters`;
  }
  return `${LABEL[f] ?? 'This field'} is not valid`;
}

/** Plain words for a whole failed request (status and message), for the form's general error. */
export function plainRequestError(status: number, message: string | undefined): string {
  if (status === 0) return 'The server cannot be reached. Check your connection and try again.';
  if (status === 429) return 'Too many attempts. Wait a moment and try again.';
  if (status >= 500) return 'Something went wrong on the server. Try again in a moment.';
  return message ?? `Request failed (${status})`;
}
