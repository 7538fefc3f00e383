import type { Room, UserSummary } from '@contract/events';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { useSubscription } from './hooks';
import { linkify, type ChatMessage } from './messages';
import type { ChatStore } from './store';

export function ChatScreen({ store }: { store: ChatStore }) {
  useSubscription(store);
  const [menuOpen, setMenuOpen] = useState(false);
  const active = store.activeRoomId ? store.rooms.get(store.activeRoomId) : undefined;
  return (
    <div class={`layout ${active && !menuOpen ? 'has-room' : ''}`}>
      {store.connection !== 'online' && (
        <div class="banner" role="status" data-testid="connection-banner">
          {store.connection === 'connecting' ? 'Connecting…' : 'Connection lost. Reconnecting…'}
        </div>
      )}
      {store.error && (
        <div class="banner error" role="alert" data-testid="error-banner">
          {store.error}{' '}
          <button class="link" onClick={() => store.clearError()}>
            dismiss
          </button>
        </div>
      )}
      <Sidebar store={store} onPick={() => setMenuOpen(false)} />
      {active ? (
        <Conversation key={active.id} store={store} room={active} onBack={() => setMenuOpen(true)} />
      ) : (
        <section class="conversation empty muted">Pick a room, or start one.</section>
      )}
    </div>
  );
}

function Sidebar({ store, onPick }: { store: ChatStore; onPick: () => void }) {
  const [panel, setPanel] = useState<'none' | 'create' | 'discover' | 'direct'>('none');
  const open = (id: string) => {
    void store.openRoom(id);
    onPick();
  };
  const onlineNames = [...store.online].filter((id) => id !== store.me.id).map((id) => store.names.get(id) ?? '…');
  return (
    <aside class="sidebar">
      <header class="me">
        <span data-testid="me">{store.me.displayName}</span>
        <button class="link" onClick={() => void store.session.logout()} data-testid="logout">
          Log out
        </button>
      </header>
      <nav class="actions">
        <button onClick={() => setPanel(panel === 'create' ? 'none' : 'create')} data-testid="open-create">
          New room
        </button>
        <button onClick={() => setPanel(panel === 'discover' ? 'none' : 'discover')} data-testid="open-discover">
          Discover
        </button>
        <button onClick={() => setPanel(panel === 'direct' ? 'none' : 'direct')} data-testid="open-direct">
          Message someone
        </button>
      </nav>
      {panel === 'create' && <CreateRoom store={store} done={() => (setPanel('none'), onPick())} />}
      {panel === 'discover' && <Discover store={store} done={() => (setPanel('none'), onPick())} />}
      {panel === 'direct' && (
        <UserPicker store={store} label="Start a conversation with" onPick={async (u) => (await store.startDirect(u.id), setPanel('none'), onPick())} />
      )}
      <ul class="rooms" data-testid="room-list">
        {store.sortedRooms().map((r) => (
          <li key={r.id}>
            <button class={r.id === store.activeRoomId ? 'room active' : 'room'} onClick={() => open(r.id)} data-testid="room-item" data-room-name={r.name}>
              <span class="kind">{r.kind === 'public' ? '#' : r.kind === 'private' ? '🔒' : '@'}</span>
              <span class="name">{store.roomTitle(r)}</span>
              {r.unread > 0 && (
                <span class="badge" data-testid="unread">
                  {r.unread}
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
      <footer class="online" data-testid="online-list">
        <strong>Online</strong> {onlineNames.length ? onlineNames.join(', ') : <span class="muted">nobody else</span>}
      </footer>
    </aside>
  );
}

function CreateRoom({ store, done }: { store: ChatStore; done: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'public' | 'private'>('public');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      await store.createRoom(name, kind);
      done();
    } catch (err) {
      setError(err instanceof ApiError ? (err.field('name') ?? err.message) : String(err));
    }
  };
  return (
    <form class="panel" onSubmit={submit} data-testid="create-form">
      <input placeholder="Room name" value={name} onInput={(e) => setName(e.currentTarget.value)} data-testid="room-name" required maxLength={80} />
      <select value={kind} onChange={(e) => setKind(e.currentTarget.value as 'public' | 'private')} data-testid="room-kind">
        <option value="public">Public</option>
        <option value="private">Private</option>
      </select>
      <button class="primary" type="submit" data-testid="create-submit">
        Create
      </button>
      {error && <span class="field-error">{error}</span>}
    </form>
  );
}

function Discover({ store, done }: { store: ChatStore; done: () => void }) {
  const [query, setQuery] = useState('');
  const [rooms, setRooms] = useState<Room[]>([]);
  useEffect(() => {
    const t = setTimeout(() => void store.discover(query).then(setRooms, () => setRooms([])), 200);
    return () => clearTimeout(t);
  }, [query]);
  return (
    <div class="panel" data-testid="discover">
      <input placeholder="Search public rooms" value={query} onInput={(e) => setQuery(e.currentTarget.value)} data-testid="discover-query" />
      <ul>
        {rooms.map((r) => (
          <li key={r.id}>
            <span>#{r.name}</span>{' '}
            {store.rooms.has(r.id) ? (
              <span class="muted">joined</span>
            ) : (
              <button onClick={() => void store.join(r.id).then(done)} data-testid="join" data-room-name={r.name}>
                Join
              </button>
            )}
          </li>
        ))}
        {rooms.length === 0 && <li class="muted">No public rooms match.</li>}
      </ul>
    </div>
  );
}

function UserPicker({ store, label, onPick }: { store: ChatStore; label: string; onPick: (u: UserSummary) => Promise<unknown> }) {
  const [query, setQuery] = useState('');
  const [users, setUsers] = useState<UserSummary[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!query.trim()) return setUsers([]);
    const t = setTimeout(() => void store.searchUsers(query.trim()).then(setUsers, () => setUsers([])), 200);
    return () => clearTimeout(t);
  }, [query]);
  return (
    <div class="panel" data-testid="user-picker">
      <input placeholder={`${label}…`} value={query} onInput={(e) => setQuery(e.currentTarget.value)} data-testid="user-query" aria-label={label} />
      <ul>
        {users.map((u) => (
          <li key={u.id}>
            <button
              onClick={() => onPick(u).catch((e) => setError(e instanceof ApiError ? e.message : String(e)))}
              data-testid="user-result"
              data-username={u.username}
            >
              {u.displayName} <span class="muted">@{u.username}</span>
            </button>
          </li>
        ))}
      </ul>
      {error && <span class="field-error">{error}</span>}
    </div>
  );
}

function Conversation({ store, room, onBack }: { store: ChatStore; room: Room; onBack: () => void }) {
  const list = store.messages.get(room.id);
  const scroller = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const [adding, setAdding] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const typing = store.typingIn(room.id);

  // Keep the view at the bottom while the reader is there; keep position when older pages load.
  const prevHeight = useRef(0);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (stickToBottom.current) el.scrollTop = el.scrollHeight;
    else if (prevHeight.current && el.scrollTop < 5) el.scrollTop = el.scrollHeight - prevHeight.current;
    prevHeight.current = el.scrollHeight;
  }, [list]);

  const onScroll = async () => {
    const el = scroller.current!;
    stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (stickToBottom.current) store.markRead(room.id);
    if (el.scrollTop < 40) {
      prevHeight.current = el.scrollHeight;
      await store.loadOlder(room.id);
    }
  };

  return (
    <section class="conversation" data-testid="conversation">
      <header class="room-header">
        <button class="back" onClick={onBack} aria-label="Back to rooms">
          ←
        </button>
        <h2 data-testid="room-title">{store.roomTitle(room)}</h2>
        <span class="muted">{room.kind}</span>
        {room.kind !== 'direct' && (
          <button onClick={() => setAdding(!adding)} data-testid="open-add-member">
            Add member
          </button>
        )}
      </header>
      {adding && (
        <UserPicker
          store={store}
          label="Add to this room"
          onPick={async (u) => {
            await store.addMember(room.id, u.id);
            setAdding(false);
            setNotice(`${u.displayName} was added.`);
          }}
        />
      )}
      {notice && <p class="notice">{notice}</p>}
      <div class="messages" ref={scroller} onScroll={onScroll} data-testid="messages">
        {store.olderAvailable.get(room.id) && <p class="muted center">Scroll up for older messages</p>}
        {!list && <p class="muted center">Loading…</p>}
        {list?.map((m) => (
          <MessageView key={m.id} store={store} m={m} />
        ))}
      </div>
      <p class="typing" data-testid="typing" aria-live="polite">
        {typing.length ? `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…` : ' '}
      </p>
      <Composer store={store} roomId={room.id} />
    </section>
  );
}

function MessageView({ store, m }: { store: ChatStore; m: ChatMessage }) {
  const mine = m.senderId === store.me.id;
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(m.body);
  const save = async () => {
    if (draft.trim() && draft.trim() !== m.body) await store.edit(m.id, draft.trim());
    setEditing(false);
  };
  return (
    <article
      class={`message ${mine ? 'mine' : ''} ${m.pending ? 'pending' : ''} ${m.failed ? 'failed' : ''}`}
      data-testid="message"
      data-seq={m.pending || m.failed ? '' : String(m.seq)}
      data-mine={String(mine)}
    >
      <header>
        <strong>{mine ? 'You' : m.senderName}</strong>
        <time dateTime={m.createdAt}>{new Date(m.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</time>
        {m.editedAt && !m.deleted && <span class="muted">(edited)</span>}
        {m.pending && (
          <span class="muted" data-testid="pending">
            sending…
          </span>
        )}
      </header>
      {m.deleted ? (
        <p class="body muted" data-testid="message-body">
          message deleted
        </p>
      ) : editing ? (
        <div class="edit">
          <textarea value={draft} onInput={(e) => setDraft(e.currentTarget.value)} data-testid="edit-input" maxLength={4000} />
          <button class="primary" onClick={() => void save()} data-testid="edit-save">
            Save
          </button>
          <button onClick={() => setEditing(false)}>Cancel</button>
        </div>
      ) : (
        <p class="body" data-testid="message-body">
          {linkify(m.body).map((part, i) =>
            part.href ? (
              <a key={i} href={part.href} target="_blank" rel="noopener noreferrer nofollow">
                {part.text}
              </a>
            ) : (
              part.text
            ),
          )}
        </p>
      )}
      {m.failed && (
        <button class="link" onClick={() => store.retry(m.roomId, m.clientId)} data-testid="retry">
          Not sent — retry
        </button>
      )}
      {mine && !m.deleted && !m.pending && !m.failed && !editing && (
        <div class="tools">
          <button class="link" onClick={() => (setDraft(m.body), setEditing(true))} data-testid="edit">
            Edit
          </button>
          <button class="link" onClick={() => void store.remove(m)} data-testid="delete">
            Delete
          </button>
        </div>
      )}
    </article>
  );
}

function Composer({ store, roomId }: { store: ChatStore; roomId: string }) {
  const [text, setText] = useState('');
  const send = () => {
    if (!text.trim()) return;
    store.send(roomId, text);
    setText('');
  };
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <textarea
        rows={2}
        placeholder="Message (Enter to send, Shift+Enter for a new line)"
        value={text}
        maxLength={4000}
        onInput={(e) => {
          setText(e.currentTarget.value);
          store.typingNow(roomId);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
        data-testid="composer"
        aria-label="Message"
      />
      <button class="primary" type="submit" data-testid="send">
        Send
      </button>
    </form>
  );
}
