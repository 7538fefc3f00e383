import type { Member, Message, Room, SearchResult, UserSummary } from '@contract/events';
import { Fragment } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { composerKey, filesOf, fitBox, formatSize, isImage, percent, type Upload } from './files';
import { useSubscription } from './hooks';
import { markdownTree, toVNodes } from './markdown';
import { highlightParts, lineSeq, reactedBy, timeline, type ChatMessage } from './messages';
import { allowedOn, canManage, continuesGroup, insertMention, mentionCandidates, mentionQuery, titleWithCount } from './people';
import type { ChatStore } from './store';
import { checkField, plainRequestError, plainServerProblem } from './validation';

type Panel = 'none' | 'create' | 'discover' | 'direct';

/** Plain words for a failed request: a field's rule when the server named one, else the message. */
function plain(e: unknown, field?: 'name' | 'topic'): string {
  if (!(e instanceof ApiError)) return String(e);
  const d = e.body?.details?.find((x) => !field || x.field === field) ?? e.body?.details?.[0];
  return d ? plainServerProblem(d.field, d.message) : plainRequestError(e.status, e.body?.message);
}

export function ChatScreen({ store }: { store: ChatStore }) {
  useSubscription(store);
  const [menuOpen, setMenuOpen] = useState(false);
  const [panel, setPanel] = useState<Panel>('none');
  /** The query whose results fill the main pane, or null for the open room. */
  const [search, setSearch] = useState<string | null>(null);
  const active = store.activeRoomId ? store.rooms.get(store.activeRoomId) : undefined;
  const total = store.totalUnread();
  useEffect(() => {
    document.title = titleWithCount(total);
  }, [total]);
  useEffect(() => () => void (document.title = titleWithCount(0)), []);
  // Alt+↑ / Alt+↓: previous / next room in the list.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey || (e.key !== 'ArrowUp' && e.key !== 'ArrowDown')) return;
      const rooms = store.sortedRooms();
      if (!rooms.length) return;
      e.preventDefault();
      const at = rooms.findIndex((r) => r.id === store.activeRoomId);
      const next = rooms[(at + (e.key === 'ArrowDown' ? 1 : -1) + rooms.length) % rooms.length];
      void store.openRoom(next.id);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);
  return (
    <div class={`layout ${(active || search) && !menuOpen ? 'has-room' : ''}`}>
      {store.connection !== 'online' && (
        <div class="banner" role="status" data-testid="connection-banner">
          {store.connection === 'connecting' ? 'Connecting…' : 'Connection lost. Reconnecting…'}
        </div>
      )}
      {store.error && (
        <div class="banner error" role="alert" data-testid="error-banner">
          {store.error}{' '}
          <button class="link" onClick={() => store.clearError()}>
            Dismiss
          </button>
        </div>
      )}
      <Sidebar
        store={store}
        panel={panel}
        setPanel={setPanel}
        onPick={() => (setMenuOpen(false), setSearch(null))}
        onSearch={(q) => (setSearch(q), setMenuOpen(false))}
      />
      {search ? (
        <SearchView
          key={search}
          store={store}
          q={search}
          close={() => setSearch(null)}
          onBack={() => setMenuOpen(true)}
          open={(m) => (setSearch(null), void store.jumpTo(m))}
        />
      ) : active ? (
        <Conversation key={active.id} store={store} room={active} onBack={() => setMenuOpen(true)} />
      ) : (
        <main class="conversation empty" data-testid="empty-state">
          {store.notice && (
            <p class="notice" role="status" data-testid="room-notice">
              {store.notice}
            </p>
          )}
          {store.loaded && store.rooms.size === 0 ? (
            <div class="welcome">
              <h1>Welcome, {store.me.displayName}</h1>
              <p>You are not in any room yet. Start here:</p>
              <div class="welcome-actions">
                <button class="primary" onClick={() => setPanel('create')} data-testid="welcome-create">
                  Create a room
                </button>
                <button onClick={() => setPanel('discover')} data-testid="welcome-discover">
                  Discover public rooms
                </button>
                <button onClick={() => setPanel('direct')} data-testid="welcome-direct">
                  Message someone
                </button>
              </div>
            </div>
          ) : (
            <h1 class="muted pick">Pick a room, or start one.</h1>
          )}
        </main>
      )}
    </div>
  );
}

function NotificationsButton() {
  const supported = typeof Notification !== 'undefined';
  const [permission, setPermission] = useState(supported ? Notification.permission : 'denied');
  if (!supported || permission === 'granted') return null;
  if (permission === 'denied') return <p class="muted small">Notifications are blocked in this browser.</p>;
  return (
    // Asked only on a click: browsers ignore (and users dislike) prompts on page load.
    <button onClick={() => void Notification.requestPermission().then(setPermission)} data-testid="enable-notifications">
      Enable notifications
    </button>
  );
}

function Sidebar({
  store,
  panel,
  setPanel,
  onPick,
  onSearch,
}: {
  store: ChatStore;
  panel: Panel;
  setPanel: (p: Panel) => void;
  onPick: () => void;
  onSearch: (q: string) => void;
}) {
  const [q, setQ] = useState('');
  const open = (id: string) => {
    void store.openRoom(id);
    onPick();
  };
  const toggle = (p: Panel) => setPanel(panel === p ? 'none' : p);
  const onlineNames = [...store.online].filter((id) => id !== store.me.id).map((id) => store.names.get(id) ?? '…');
  const rooms = store.sortedRooms();
  return (
    <aside class="sidebar" aria-label="Rooms and people">
      <header class="me">
        <span data-testid="me">{store.me.displayName}</span>
        <button class="link" onClick={() => void store.session.logout()} data-testid="logout">
          Log out
        </button>
      </header>
      <form
        class="search"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          if (q.trim()) onSearch(q.trim());
        }}
      >
        <input
          type="search"
          placeholder="Search messages"
          aria-label="Search messages"
          value={q}
          maxLength={200}
          onInput={(e) => setQ(e.currentTarget.value)}
          data-testid="search-input"
        />
        <button type="submit" data-testid="search-submit">
          Search
        </button>
      </form>
      <div class="actions">
        <button onClick={() => toggle('create')} aria-expanded={panel === 'create'} data-testid="open-create">
          New room
        </button>
        <button onClick={() => toggle('discover')} aria-expanded={panel === 'discover'} data-testid="open-discover">
          Discover
        </button>
        <button onClick={() => toggle('direct')} aria-expanded={panel === 'direct'} data-testid="open-direct">
          Message someone
        </button>
        <NotificationsButton />
      </div>
      {panel === 'create' && <CreateRoom store={store} done={() => (setPanel('none'), onPick())} />}
      {panel === 'discover' && <Discover store={store} done={() => (setPanel('none'), onPick())} />}
      {panel === 'direct' && (
        <UserPicker store={store} label="Start a conversation with" onPick={async (u) => (await store.startDirect(u.id), setPanel('none'), onPick())} />
      )}
      <nav class="room-nav" aria-labelledby="rooms-heading">
        <h2 id="rooms-heading" class="sr-only">
          Rooms
        </h2>
        <ul class="rooms" data-testid="room-list">
          {rooms.map((r) => (
            <li key={r.id}>
              <button
                class={r.id === store.activeRoomId ? 'room active' : 'room'}
                aria-current={r.id === store.activeRoomId ? 'page' : undefined}
                onClick={() => open(r.id)}
                data-testid="room-item"
                data-room-name={r.name}
              >
                <span class="kind" aria-hidden="true">
                  {r.kind === 'public' ? '#' : r.kind === 'private' ? '🔒' : '@'}
                </span>
                <span class="name">{store.roomTitle(r)}</span>
                {r.muted && (
                  <span class="muted small" data-testid="muted-mark">
                    muted
                  </span>
                )}
                {r.mentions > 0 && (
                  <span class="badge mention" data-testid="mentions">
                    @{r.mentions}
                    <span class="sr-only"> mentions</span>
                  </span>
                )}
                {r.unread > 0 && (
                  <span class="badge" data-testid="unread">
                    {r.unread}
                    <span class="sr-only"> unread</span>
                  </span>
                )}
              </button>
            </li>
          ))}
        </ul>
        {store.loaded && rooms.length === 0 && <p class="muted small pad">No rooms yet.</p>}
      </nav>
      <footer class="online" data-testid="online-list">
        <strong>Online</strong> {onlineNames.length ? onlineNames.join(', ') : <span class="muted">nobody else</span>}
      </footer>
    </aside>
  );
}

function CreateRoom({ store, done }: { store: ChatStore; done: () => void }) {
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'public' | 'private'>('public');
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const problem = touched ? checkField('name', name) : null;
  const submit = async (e: Event) => {
    e.preventDefault();
    setTouched(true);
    if (checkField('name', name)) return;
    try {
      await store.createRoom(name.trim(), kind);
      done();
    } catch (err) {
      setError(plain(err, 'name'));
    }
  };
  const shown = problem ?? error;
  return (
    <form class="panel" onSubmit={submit} noValidate data-testid="create-form">
      <label class="sr-only" for="new-room-name">
        Room name
      </label>
      <input
        id="new-room-name"
        placeholder="Room name"
        value={name}
        onInput={(e) => (setName(e.currentTarget.value), setError(null))}
        onBlur={() => setTouched(true)}
        data-testid="room-name"
        maxLength={80}
        aria-invalid={shown ? true : undefined}
        aria-describedby={shown ? 'new-room-error' : undefined}
      />
      <label class="sr-only" for="new-room-kind">
        Who can find it
      </label>
      <select id="new-room-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as 'public' | 'private')} data-testid="room-kind">
        <option value="public">Public</option>
        <option value="private">Private</option>
      </select>
      <button class="primary" type="submit" data-testid="create-submit">
        Create
      </button>
      {shown && (
        <span class="field-error" id="new-room-error" data-testid="create-error">
          {shown}
        </span>
      )}
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
      <input
        placeholder="Search public rooms"
        aria-label="Search public rooms"
        value={query}
        onInput={(e) => setQuery(e.currentTarget.value)}
        data-testid="discover-query"
      />
      <ul>
        {rooms.map((r) => (
          <li key={r.id}>
            <span>#{r.name}</span>{' '}
            {store.rooms.has(r.id) ? (
              <span class="muted">joined</span>
            ) : (
              <button onClick={() => void store.join(r.id).then(done)} data-testid="join" data-room-name={r.name} aria-label={`Join ${r.name}`}>
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
            <button onClick={() => onPick(u).catch((e) => setError(plain(e)))} data-testid="user-result" data-username={u.username}>
              {u.displayName} <span class="muted">@{u.username}</span>
            </button>
          </li>
        ))}
      </ul>
      {error && <span class="field-error">{error}</span>}
    </div>
  );
}

type Side = 'none' | 'members' | 'settings' | 'thread';

function Conversation({ store, room, onBack }: { store: ChatStore; room: Room; onBack: () => void }) {
  const list = store.messages.get(room.id);
  const scroller = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const [side, setSide] = useState<Side>('none');
  const [threadId, setThreadId] = useState<string | null>(null);
  const openThread = (id: string) => (setThreadId(id), setSide('thread'));
  // A search hit: scroll to it (a reply: to its root, and open the thread) and flash it.
  const focus = store.focus?.roomId === room.id ? store.focus : null;
  useEffect(() => {
    if (!focus || !list) return;
    const el = scroller.current?.querySelector<HTMLElement>(`[data-id="${focus.rootId ?? focus.messageId}"]`);
    if (el) {
      stickToBottom.current = false;
      el.scrollIntoView({ block: 'center' });
    }
    // A reply: its thread panel shows it (and takes the focus request from here).
    if (focus.rootId) return openThread(focus.rootId);
    if (el) flash(el);
    store.focused();
  }, [focus, list]);
  const [lineHidden, setLineHidden] = useState(false);
  const typing = store.typingIn(room.id);
  const title = store.roomTitle(room);
  const unreadFrom = store.unreadFrom.get(room.id);
  const shown = list ? timeline(list) : undefined;
  const lineAt = shown ? lineSeq(shown, unreadFrom) : undefined;

  const checkLine = () => {
    const el = scroller.current;
    const line = el?.querySelector<HTMLElement>('.new-line');
    setLineHidden(Boolean(el && line && (line.offsetTop < el.scrollTop || line.offsetTop > el.scrollTop + el.clientHeight - 20)));
  };
  const jump = () => {
    scroller.current?.querySelector<HTMLElement>('.new-line')?.scrollIntoView({ block: 'start' });
    stickToBottom.current = false;
    checkLine();
  };

  // Keep the view at the bottom while the reader is there; keep position when older pages load.
  const prevHeight = useRef(0);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (stickToBottom.current) el.scrollTop = el.scrollHeight;
    else if (prevHeight.current && el.scrollTop < 5) el.scrollTop = el.scrollHeight - prevHeight.current;
    prevHeight.current = el.scrollHeight;
    checkLine();
  }, [list, unreadFrom]);

  const onScroll = async () => {
    const el = scroller.current!;
    stickToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (stickToBottom.current) store.markRead(room.id);
    checkLine();
    if (el.scrollTop < 40) {
      prevHeight.current = el.scrollHeight;
      await store.loadOlder(room.id);
    }
  };

  const toggle = (s: Side) => setSide(side === s ? 'none' : s);
  // Files dragged onto the room attach to its composer.
  const [dropping, setDropping] = useState(false);
  const carriesFiles = (e: DragEvent) => Boolean(e.dataTransfer?.types.includes('Files'));
  let prev: ChatMessage | undefined;
  return (
    <main class="conversation" aria-labelledby="room-title" data-testid="conversation">
      <PaneHeader
        onBack={onBack}
        title={
          <>
            <h1 id="room-title" data-testid="room-title">
              {title}
            </h1>
            {room.topic && (
              <p class="topic" data-testid="room-topic">
                {room.topic}
              </p>
            )}
          </>
        }
      >
        {room.kind !== 'direct' && (
          <button onClick={() => toggle('members')} aria-expanded={side === 'members'} data-testid="open-members">
            Members <span class="muted">{room.memberCount}</span>
          </button>
        )}
        <button onClick={() => toggle('settings')} aria-expanded={side === 'settings'} data-testid="open-settings">
          Settings
        </button>
      </PaneHeader>
      <div class={`room-body ${side !== 'none' ? 'with-side' : ''}`}>
        <div
          class={`thread ${dropping ? 'dropping' : ''}`}
          onDragOver={(e) => {
            if (!carriesFiles(e)) return;
            e.preventDefault();
            e.dataTransfer!.dropEffect = 'copy';
            setDropping(true);
          }}
          onDragLeave={(e) => {
            if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDropping(false);
          }}
          onDrop={(e) => {
            setDropping(false);
            const files = filesOf(e.dataTransfer);
            if (!files.length) return;
            e.preventDefault();
            store.attach(composerKey(room.id), room.id, files);
          }}
          data-testid="drop-zone"
        >
          {dropping && (
            <p class="drop-hint" aria-hidden="true">
              Drop files to attach them
            </p>
          )}
          {lineAt !== undefined && lineHidden && (
            <button class="jump" onClick={jump} data-testid="jump-unread">
              Jump to first unread ↑
            </button>
          )}
          <div class="messages" ref={scroller} onScroll={onScroll} role="log" aria-label={`Messages in ${title}`} tabIndex={0} data-testid="messages">
            {store.olderAvailable.get(room.id) && <p class="muted center">Scroll up for older messages</p>}
            {!list && <p class="muted center">Loading…</p>}
            {shown?.map((m) => {
              const line = m.seq === lineAt;
              const grouped = continuesGroup(prev, m, line);
              prev = m;
              return (
                <Fragment key={m.id}>
                  {line && (
                    <p class="new-line" data-testid="new-messages">
                      <span>New messages</span>
                    </p>
                  )}
                  <MessageView store={store} m={m} grouped={grouped} onThread={openThread} />
                </Fragment>
              );
            })}
          </div>
          <p class="typing" data-testid="typing" aria-live="polite">
            {typing.length ? `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…` : ' '}
          </p>
          <Composer store={store} room={room} />
        </div>
        {side === 'members' && <MemberPanel store={store} room={room} close={() => setSide('none')} />}
        {side === 'settings' && <SettingsPanel store={store} room={room} close={() => setSide('none')} />}
        {side === 'thread' && threadId && <ThreadPanel key={threadId} store={store} room={room} rootId={threadId} close={() => setSide('none')} />}
      </div>
    </main>
  );
}

/** The main pane's header: the back button (to the room list on a phone), the title block, then the pane's buttons. */
function PaneHeader({ onBack, title, children }: { onBack: () => void; title: preact.ComponentChildren; children: preact.ComponentChildren }) {
  return (
    <header class="room-header">
      <button class="back" onClick={onBack} aria-label="Back to rooms">
        ←
      </button>
      <div class="title">{title}</div>
      {children}
    </header>
  );
}

/** A side panel: Escape or its close button closes it, and focus moves into it when it opens. */
function SidePanel({
  id,
  heading,
  close,
  children,
  testid,
  wide,
}: {
  id: string;
  heading: string;
  close: () => void;
  children: preact.ComponentChildren;
  testid: string;
  wide?: boolean;
}) {
  const ref = useRef<HTMLElement>(null);
  useEffect(() => ref.current?.querySelector<HTMLElement>('h2')?.focus(), []);
  return (
    <aside
      class={`side-panel ${wide ? 'wide' : ''}`}
      aria-labelledby={id}
      ref={ref}
      data-testid={testid}
      onKeyDown={(e) => {
        if (e.key === 'Escape' && !e.defaultPrevented) close();
      }}
    >
      <div class="side-head">
        <h2 id={id} tabIndex={-1}>
          {heading}
        </h2>
        <button class="link" onClick={close} aria-label={`Close ${heading.toLowerCase()}`} data-testid="close-panel">
          ✕
        </button>
      </div>
      {children}
    </aside>
  );
}

const ROLE_LABEL = { owner: 'Owner', admin: 'Admin', member: 'Member' } as const;

function MemberPanel({ store, room, close }: { store: ChatStore; room: Room; close: () => void }) {
  const [adding, setAdding] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const data = store.members.get(room.id);
  useEffect(() => {
    // Fresh on every open: online state and roles may have changed meanwhile.
    void store.loadMembers(room.id).catch((e) => setNotice(plain(e)));
  }, [room.id]);
  const act = (p: Promise<unknown>, done: string) =>
    p.then(
      () => setNotice(done),
      (e) => setNotice(plain(e)),
    );
  return (
    <SidePanel id="members-heading" heading="Members" close={close} testid="member-panel">
      <p class="muted small">
        {room.memberCount} {room.memberCount === 1 ? 'member' : 'members'}
      </p>
      <button onClick={() => setAdding(!adding)} aria-expanded={adding} data-testid="open-add-member">
        Add people
      </button>
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
      {notice && (
        <p class="notice" role="status" data-testid="member-notice">
          {notice}
        </p>
      )}
      {!data && <p class="muted">Loading…</p>}
      <ul class="member-list" data-testid="member-list">
        {data?.members.map((m) => {
          const can = allowedOn(room.role, m, store.me.id);
          const name = m.userId === store.me.id ? `${m.displayName} (you)` : m.displayName;
          return (
            <li key={m.userId} class="member" data-testid="member" data-username={m.username} data-online={String(m.online)} data-role={m.role}>
              <span class={`dot ${m.online ? 'on' : ''}`} aria-hidden="true" />
              <span class="who">
                <span class="member-name">{name}</span>
                <span class="muted small">
                  {m.online ? 'online' : 'offline'}
                  {m.role !== 'member' && ` · ${ROLE_LABEL[m.role]}`}
                </span>
              </span>
              {can.changeRole && (
                <select
                  aria-label={`Role of ${m.displayName}`}
                  value={m.role}
                  onChange={(e) =>
                    void act(store.setRole(room.id, m.userId, e.currentTarget.value as 'admin' | 'member'), `${m.displayName} is now ${e.currentTarget.value}.`)
                  }
                  data-testid="member-role"
                >
                  <option value="member">Member</option>
                  <option value="admin">Admin</option>
                </select>
              )}
              {can.remove &&
                (confirm === m.userId ? (
                  <span class="confirm-inline">
                    <button
                      class="danger"
                      onClick={() => (setConfirm(null), void act(store.removeMember(room.id, m.userId), `${m.displayName} was removed.`))}
                      data-testid="member-remove-confirm"
                    >
                      Remove {m.displayName}
                    </button>
                    <button onClick={() => setConfirm(null)}>Cancel</button>
                  </span>
                ) : (
                  <button class="link" onClick={() => setConfirm(m.userId)} aria-label={`Remove ${m.displayName}`} data-testid="member-remove">
                    Remove
                  </button>
                ))}
            </li>
          );
        })}
      </ul>
      {data?.hasMore && (
        <button onClick={() => void store.loadMembers(room.id, true)} data-testid="members-more">
          Load more members
        </button>
      )}
    </SidePanel>
  );
}

function SettingsPanel({ store, room, close }: { store: ChatStore; room: Room; close: () => void }) {
  const [name, setName] = useState(room.name);
  const [topic, setTopic] = useState(room.topic ?? '');
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [leaving, setLeaving] = useState(false);
  const manage = room.kind !== 'direct' && canManage(room.role);
  const problem = checkField('name', name) ?? checkField('topic', topic);
  const save = async (e: Event) => {
    e.preventDefault();
    if (problem) return;
    try {
      await store.updateRoom(room.id, { name: name.trim(), topic: topic.trim() || null });
      setError(null);
      setSaved(true);
    } catch (err) {
      setError(plain(err));
    }
  };
  const shown = problem ?? error;
  return (
    <SidePanel id="settings-heading" heading="Room settings" close={close} testid="settings-panel">
      {manage && (
        <form class="stack" onSubmit={save} noValidate data-testid="rename-form">
          <label>
            Name
            <input
              value={name}
              maxLength={80}
              onInput={(e) => (setName(e.currentTarget.value), setSaved(false), setError(null))}
              data-testid="settings-name"
              aria-invalid={shown ? true : undefined}
              aria-describedby={shown ? 'settings-error' : undefined}
            />
          </label>
          <label>
            Topic
            <input
              value={topic}
              maxLength={250}
              onInput={(e) => (setTopic(e.currentTarget.value), setSaved(false), setError(null))}
              data-testid="settings-topic"
            />
          </label>
          {shown && (
            <span class="field-error" id="settings-error" data-testid="settings-error">
              {shown}
            </span>
          )}
          <button class="primary" type="submit" data-testid="settings-save">
            Save
          </button>
          {saved && (
            <span class="muted small" role="status">
              Saved.
            </span>
          )}
        </form>
      )}
      <label class="check">
        <input
          type="checkbox"
          checked={room.muted}
          onChange={(e) => void store.setMuted(room.id, e.currentTarget.checked).catch((err) => setError(plain(err)))}
          data-testid="mute-toggle"
        />
        Mute this room
      </label>
      <p class="muted small">A muted room sends no notifications and is left out of the count in the tab title.</p>
      {room.kind !== 'direct' &&
        (leaving ? (
          <div class="confirm" role="group" aria-labelledby="leave-q">
            <p id="leave-q">
              Leave {room.name}? {room.kind === 'private' ? 'Someone will have to add you again to come back.' : 'You can join it again from Discover.'}
            </p>
            <ConfirmButton onClick={() => void store.leave(room.id).catch((e) => setError(plain(e)))} testid="leave-confirm">
              Leave room
            </ConfirmButton>
            <button onClick={() => setLeaving(false)} data-testid="leave-cancel">
              Cancel
            </button>
          </div>
        ) : (
          <button class="danger-outline" onClick={() => setLeaving(true)} data-testid="leave">
            Leave room…
          </button>
        ))}
    </SidePanel>
  );
}

/** The button of an inline confirmation; it takes focus so Enter confirms and Tab reaches Cancel. */
function ConfirmButton({ onClick, testid, children }: { onClick: () => void; testid: string; children: preact.ComponentChildren }) {
  const ref = useRef<HTMLButtonElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <button ref={ref} class="danger" onClick={onClick} data-testid={testid}>
      {children}
    </button>
  );
}

/** A message body: its Markdown as allow-listed DOM nodes (see markdown.ts), never as HTML. */
function Body({ text, me }: { text: string; me: string }) {
  const nodes = useMemo(() => toVNodes(markdownTree(text, me)), [text, me]);
  return <>{nodes}</>;
}

function MessageView({
  store,
  m,
  grouped,
  onThread,
  testid = 'message',
}: {
  store: ChatStore;
  m: ChatMessage;
  grouped: boolean;
  /** Set in the main timeline: roots offer "Reply in thread" and link to their replies. */
  onThread?: (rootId: string) => void;
  testid?: string;
}) {
  const mine = m.senderId === store.me.id;
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [draft, setDraft] = useState(m.body);
  const mentionsMe = !mine && m.mentions.includes(store.me.id);
  const save = async () => {
    if (draft.trim() && draft.trim() !== m.body) await store.edit(m.id, draft.trim());
    setEditing(false);
  };
  const time = new Date(m.createdAt);
  return (
    <article
      class={`message ${mine ? 'mine' : ''} ${grouped ? 'grouped' : ''} ${mentionsMe ? 'mentions-me' : ''} ${m.pending ? 'pending' : ''} ${m.failed ? 'failed' : ''}`}
      data-testid={testid}
      data-id={m.id}
      data-seq={m.pending || m.failed ? '' : String(m.seq)}
      data-mine={String(mine)}
      data-grouped={String(grouped)}
    >
      {(!grouped || m.pending || (m.editedAt && !m.deleted)) && (
        <header>
          {!grouped && <strong data-testid="sender">{mine ? 'You' : m.senderName}</strong>}
          {!grouped && (
            <time dateTime={m.createdAt} title={time.toLocaleString()}>
              {time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
            </time>
          )}
          {m.editedAt && !m.deleted && <span class="muted">(edited)</span>}
          {m.pending && (
            <span class="muted" data-testid="pending">
              sending…
            </span>
          )}
        </header>
      )}
      {m.deleted ? (
        <p class="body muted" data-testid="message-body">
          message deleted
        </p>
      ) : editing ? (
        <div class="edit">
          <textarea
            value={draft}
            aria-label="Edit message"
            onInput={(e) => setDraft(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') {
                e.preventDefault();
                setEditing(false);
              } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
                e.preventDefault();
                void save();
              }
            }}
            data-testid="edit-input"
            maxLength={4000}
          />
          <button class="primary" onClick={() => void save()} data-testid="edit-save">
            Save
          </button>
          <button onClick={() => setEditing(false)}>Cancel</button>
        </div>
      ) : (
        <div class="body" data-testid="message-body">
          <Body text={m.body} me={store.me.username} />
        </div>
      )}
      {!m.deleted && m.attachments.length > 0 && <AttachmentList store={store} uploads={m.attachments} />}
      {m.failed && (
        <button class="link" onClick={() => store.retry(m.roomId, m.clientId)} data-testid="retry">
          Not sent — retry
        </button>
      )}
      {!m.pending && !m.failed && !editing && (!m.deleted || (onThread && m.replyCount > 0)) && (
        <div class="message-foot">
          {!m.deleted && <Reactions store={store} m={m} />}
          {onThread && !m.threadId && m.replyCount > 0 && (
            <button class="link thread-link" onClick={() => onThread(m.id)} data-testid="thread-link">
              {m.replyCount} {m.replyCount === 1 ? 'reply' : 'replies'}
              {m.lastReplyAt && ` · last reply ${shortTime(m.lastReplyAt)}`}
            </button>
          )}
          {!m.deleted && ((onThread && !m.threadId) || mine) && (
            <div class="tools">
              {onThread && !m.threadId && !confirming && (
                <button class="link" onClick={() => onThread(m.id)} data-testid="reply-in-thread">
                  Reply in thread
                </button>
              )}
              {mine &&
                (confirming ? (
                  <span class="confirm-inline" role="group" aria-label="Delete this message?">
                    <span>Delete this message?</span>
                    <ConfirmButton onClick={() => (setConfirming(false), void store.remove(m))} testid="delete-confirm">
                      Delete
                    </ConfirmButton>
                    <button onClick={() => setConfirming(false)} data-testid="delete-cancel">
                      Cancel
                    </button>
                  </span>
                ) : (
                  <>
                    <button class="link" onClick={() => (setDraft(m.body), setEditing(true))} data-testid="edit">
                      Edit
                    </button>
                    <button class="link" onClick={() => setConfirming(true)} data-testid="delete">
                      Delete
                    </button>
                  </>
                ))}
            </div>
          )}
        </div>
      )}
    </article>
  );
}

interface Option {
  id: string;
  username: string;
  label: string;
  online?: boolean;
}

/** The room's composer, or a thread's (`threadId`): replies go to that thread. */
function Composer({ store, room, threadId }: { store: ChatStore; room: Room; threadId?: string }) {
  const [text, setText] = useState('');
  const [query, setQuery] = useState<{ start: number; query: string } | null>(null);
  const [active, setActive] = useState(0);
  const ref = useRef<HTMLTextAreaElement>(null);
  const caretAfter = useRef<number | null>(null);
  const listId = `mention-options-${room.id}${threadId ? '-thread' : ''}`;

  const members: Member[] = store.members.get(room.id)?.members ?? [];
  const options: Option[] = query
    ? [
        ...mentionCandidates(members, query.query, store.me.id).map((m) => ({ id: m.userId, username: m.username, label: m.displayName, online: m.online })),
        ...(room.kind !== 'direct' && 'room'.startsWith(query.query) ? [{ id: 'room', username: 'room', label: 'Everyone in this room' }] : []),
      ]
    : [];
  const open = options.length > 0;
  const current = open ? Math.min(active, options.length - 1) : -1;

  useLayoutEffect(() => {
    if (caretAfter.current === null || !ref.current) return;
    ref.current.setSelectionRange(caretAfter.current, caretAfter.current);
    caretAfter.current = null;
  }, [text]);

  const update = (value: string, caret: number) => {
    const q = mentionQuery(value, caret);
    setQuery(q);
    setActive(0);
    if (q && !store.members.has(room.id)) void store.loadMembers(room.id).catch(() => undefined);
  };
  const pick = (o: Option) => {
    const el = ref.current!;
    const r = insertMention(text, query!.start, el.selectionStart, o.username);
    caretAfter.current = r.caret;
    setText(r.text);
    setQuery(null);
  };
  const key = composerKey(room.id, threadId);
  const files = store.attachmentsOf(key);
  const uploading = files.files.some((f) => f.state === 'uploading');
  const [waiting, setWaiting] = useState(false);
  const picker = useRef<HTMLInputElement>(null);
  const send = () => {
    if (uploading) return setWaiting(true);
    if (!store.send(room.id, text, threadId)) return;
    setText('');
    setQuery(null);
    setWaiting(false);
  };
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <PendingFiles store={store} composer={key} waiting={waiting && uploading} />
      <span class="sr-only" role="status">
        {open ? `${options.length} ${options.length === 1 ? 'person' : 'people'} to mention, use the arrow keys and Enter` : ''}
      </span>
      {open && (
        <ul class="mention-options" role="listbox" id={listId} aria-label="People to mention" data-testid="mention-options">
          {options.map((o, i) => (
            <li
              key={o.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === current}
              class={i === current ? 'active' : ''}
              // mousedown, not click: the textarea keeps focus and its caret.
              onMouseDown={(e) => (e.preventDefault(), pick(o))}
              data-testid="mention-option"
              data-username={o.username}
            >
              {o.label} <span class="muted">@{o.username}</span>
            </li>
          ))}
        </ul>
      )}
      <textarea
        ref={ref}
        rows={2}
        placeholder={threadId ? 'Reply (Enter to send)' : 'Message (Enter to send, Shift+Enter for a new line, @ to mention)'}
        value={text}
        maxLength={4000}
        // A textarea may not take role=combobox (ARIA in HTML); as a textbox it still owns the
        // listbox through aria-controls and points at the active option.
        aria-autocomplete="list"
        aria-controls={open ? listId : undefined}
        aria-activedescendant={open ? `${listId}-${current}` : undefined}
        onInput={(e) => {
          setText(e.currentTarget.value);
          update(e.currentTarget.value, e.currentTarget.selectionStart);
          store.typingNow(room.id);
        }}
        onClick={(e) => update(e.currentTarget.value, e.currentTarget.selectionStart)}
        onBlur={() => setQuery(null)}
        onPaste={(e) => {
          // Pasted images and files attach; pasted text goes in as usual.
          const pasted = filesOf(e.clipboardData);
          if (!pasted.length) return;
          e.preventDefault();
          store.attach(key, room.id, pasted);
        }}
        onKeyDown={(e) => {
          if (open) {
            if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
              e.preventDefault();
              setActive((current + (e.key === 'ArrowDown' ? 1 : -1) + options.length) % options.length);
              return;
            }
            if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
              e.preventDefault();
              pick(options[current]);
              return;
            }
            if (e.key === 'Escape') {
              // Handled here: Escape must not also close a side panel.
              e.preventDefault();
              e.stopPropagation();
              setQuery(null);
              return;
            }
          }
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
        data-testid={threadId ? 'thread-composer' : 'composer'}
        aria-label={threadId ? 'Reply in thread' : 'Message'}
      />
      <input
        ref={picker}
        type="file"
        multiple
        hidden
        onChange={(e) => {
          const chosen = [...(e.currentTarget.files ?? [])];
          e.currentTarget.value = '';
          if (chosen.length) store.attach(key, room.id, chosen);
        }}
        data-testid={threadId ? 'thread-file-input' : 'file-input'}
      />
      <button
        type="button"
        class="attach"
        onClick={() => picker.current?.click()}
        title="Attach files (or drop or paste them)"
        data-testid={threadId ? 'thread-attach' : 'attach'}
      >
        Attach
      </button>
      <button class="primary" type="submit" data-testid={threadId ? 'thread-send' : 'send'}>
        Send
      </button>
    </form>
  );
}

/** The composer's attachments: a chip per file with its size and progress, and a button that cancels or removes it. */
function PendingFiles({ store, composer, waiting }: { store: ChatStore; composer: string; waiting: boolean }) {
  const { files, problems } = store.attachmentsOf(composer);
  return (
    <>
      {/* Always in the page, so a screen reader hears what is added to it. */}
      <div class="file-problems" role="alert" data-testid="file-problems">
        {problems.map((p, i) => (
          <p key={i} class="field-error" data-testid="file-problem">
            {p}
          </p>
        ))}
        {problems.length > 0 && (
          <button type="button" class="link" onClick={() => store.dismissFileProblems(composer)} data-testid="dismiss-file-problems">
            Dismiss
          </button>
        )}
      </div>
      {waiting && (
        <p class="muted small" role="status" data-testid="uploads-waiting">
          Wait until the files have uploaded, then send.
        </p>
      )}
      {files.length > 0 && (
        <ul class="pending-files" aria-label="Attached files" data-testid="pending-files">
          {files.map((f) => (
            <li key={f.key} class="file-chip" data-testid="pending-file" data-state={f.state} data-name={f.name}>
              <span class="file-name">{f.name}</span>
              <span class="muted small">{formatSize(f.size)}</span>
              {f.state === 'uploading' ? (
                <progress max={100} value={percent(f)} aria-label={`Uploading ${f.name}`} data-testid="upload-progress" />
              ) : (
                <span class="sr-only">uploaded</span>
              )}
              <button
                type="button"
                class="link"
                onClick={() => store.detach(composer, f.key)}
                aria-label={f.state === 'uploading' ? `Cancel the upload of ${f.name}` : `Remove ${f.name}`}
                data-testid="remove-file"
              >
                <span aria-hidden="true">✕</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** A blob: URL for an upload's bytes (fetched with the token, which `<img src>` cannot send); revoked when unused. */
function useBlobUrl(store: ChatStore, uploadId: string, thumbnail: boolean): { url: string | null; failed: boolean } {
  const [state, setState] = useState<{ url: string | null; failed: boolean }>({ url: null, failed: false });
  useEffect(() => {
    let url: string | null = null;
    let live = true;
    store.fileBlob(uploadId, thumbnail).then(
      (b) => {
        if (!live) return;
        url = URL.createObjectURL(b);
        setState({ url, failed: false });
      },
      () => live && setState({ url: null, failed: true }),
    );
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [uploadId, thumbnail]);
  return state;
}

/** A message's files: images as thumbnails that open full size, anything else as a card with a download link. */
function AttachmentList({ store, uploads }: { store: ChatStore; uploads: Upload[] }) {
  const [viewing, setViewing] = useState<Upload | null>(null);
  return (
    <>
      <ul class="attachments" aria-label="Attached files" data-testid="attachments">
        {uploads.map((u) =>
          isImage(u) ? (
            <li key={u.id}>
              <button class="thumb" onClick={() => setViewing(u)} aria-label={`Open ${u.name} full size`} data-testid="attachment-image" data-name={u.name}>
                <Thumbnail store={store} upload={u} />
              </button>
            </li>
          ) : (
            <li key={u.id} class="file-card" data-testid="attachment-file" data-name={u.name}>
              <span class="file-name">{u.name}</span>
              <span class="muted small" data-testid="attachment-size">
                {formatSize(u.size)}
              </span>
              <DownloadLink store={store} upload={u} />
            </li>
          ),
        )}
      </ul>
      {viewing && <ImageViewer store={store} upload={viewing} close={() => setViewing(null)} />}
    </>
  );
}

function Thumbnail({ store, upload }: { store: ChatStore; upload: Upload }) {
  const { url, failed } = useBlobUrl(store, upload.id, true);
  const box = fitBox(upload.width, upload.height);
  if (failed) return <span class="thumb-missing">{upload.name} (not available)</span>;
  // The box is set before the bytes arrive, so the timeline does not jump.
  return url ? (
    <img src={url} alt={upload.name} width={box.width} height={box.height} data-testid="thumbnail" />
  ) : (
    <span class="thumb-loading" data-width={box.width} data-height={box.height}>
      <svg width={box.width} height={box.height} aria-hidden="true" />
      <span class="sr-only">Loading {upload.name}</span>
    </span>
  );
}

/** A link to the file; the click fetches it with the token and saves it under its name. */
function DownloadLink({ store, upload, label = 'Download' }: { store: ChatStore; upload: Upload; label?: string }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <a
        href={`/api/chat/uploads/${upload.id}`}
        download={upload.name}
        aria-label={`${label} ${upload.name}`}
        onClick={(e) => {
          e.preventDefault();
          setError(null);
          store.fileBlob(upload.id).then(
            (b) => {
              const url = URL.createObjectURL(b);
              const a = document.createElement('a');
              a.href = url;
              a.download = upload.name;
              a.click();
              // Later, not at once: the browser reads the blob after the click returns.
              setTimeout(() => URL.revokeObjectURL(url), 60_000);
            },
            (err) => setError(plain(err)),
          );
        }}
        data-testid="download"
      >
        {label}
      </a>
      {error && (
        <span class="field-error" role="alert">
          {error}
        </span>
      )}
    </>
  );
}

/** An image full size in a modal dialog; Escape, the close button or a click beside the image closes it. */
function ImageViewer({ store, upload, close }: { store: ChatStore; upload: Upload; close: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const { url, failed } = useBlobUrl(store, upload.id, false);
  useEffect(() => {
    const d = ref.current!;
    d.showModal();
    return () => d.open && d.close();
  }, []);
  const titleId = `viewer-${upload.id}`;
  return (
    <dialog
      ref={ref}
      class="viewer"
      aria-labelledby={titleId}
      onClose={close}
      onClick={(e) => {
        if (e.target === e.currentTarget) close();
      }}
      // The dialog handles Escape itself; a side panel around it must not close too.
      onKeyDown={(e) => e.key === 'Escape' && e.stopPropagation()}
      data-testid="image-viewer"
    >
      <div class="viewer-head">
        <h2 id={titleId} class="file-name">
          {upload.name}
        </h2>
        <span class="muted small">{formatSize(upload.size)}</span>
        <DownloadLink store={store} upload={upload} />
        <button onClick={close} aria-label="Close the image" data-testid="viewer-close">
          ✕
        </button>
      </div>
      {failed ? (
        <p class="notice">The image could not be loaded.</p>
      ) : url ? (
        <img src={url} alt={upload.name} width={upload.width} height={upload.height} data-testid="full-image" />
      ) : (
        <p class="muted">Loading…</p>
      )}
    </dialog>
  );
}

/** A time of day, with the date when it is not today. */
function shortTime(iso: string): string {
  const d = new Date(iso);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString()} ${time}`;
}

/** The quick picker's emoji, with the words a screen reader says for each. */
const QUICK_REACTIONS: Array<[string, string]> = [
  ['👍', 'thumbs up'],
  ['❤️', 'heart'],
  ['😂', 'laughing'],
  ['🎉', 'party'],
  ['😮', 'surprised'],
  ['😢', 'sad'],
  ['👀', 'eyes'],
  ['✅', 'done'],
];

/** Reaction chips (pressed when I reacted; press to toggle) and a small picker. */
function Reactions({ store, m }: { store: ChatStore; m: ChatMessage }) {
  const [open, setOpen] = useState(false);
  const trigger = useRef<HTMLButtonElement>(null);
  const picker = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (open) picker.current?.querySelector<HTMLElement>('button')?.focus();
  }, [open]);
  const mineOn = (emoji: string) => Boolean(m.reactions.find((r) => r.emoji === emoji)?.userIds.includes(store.me.id));
  // Names not known yet are asked for when someone looks (hover or focus).
  const resolve = (ids: string[]) => {
    for (const id of ids) if (!store.names.has(id)) void store.nameOf(id);
  };
  const close = () => (setOpen(false), trigger.current?.focus());
  const onKey = (e: KeyboardEvent) => {
    const buttons = [...(picker.current?.querySelectorAll<HTMLElement>('button') ?? [])];
    const at = buttons.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'Escape') {
      // Handled here: Escape must not also close the thread panel around it.
      e.preventDefault();
      e.stopPropagation();
      close();
    } else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      buttons[(at + (e.key === 'ArrowRight' ? 1 : -1) + buttons.length) % buttons.length]?.focus();
    } else if ((e.key === 'Enter' || e.key === ' ') && at >= 0) {
      // Picked here, not by the key's default click: choosing moves focus to the trigger, and
      // the rest of the key press must not reach it (it would open the picker again).
      e.preventDefault();
      buttons[at].click();
    }
  };
  return (
    <div class="reactions" data-testid="reactions">
      {m.reactions.map((r, i) => {
        const mine = r.userIds.includes(store.me.id);
        const tip = `tip-${m.id}-${i}`;
        return (
          <span class="chip-wrap" key={r.emoji} onMouseEnter={() => resolve(r.userIds)}>
            <button
              class={`chip ${mine ? 'mine' : ''}`}
              aria-pressed={mine}
              aria-describedby={tip}
              onFocus={() => resolve(r.userIds)}
              onClick={() => void store.react(m.id, r.emoji, !mine)}
              data-testid="reaction"
              data-emoji={r.emoji}
            >
              {r.emoji} <span data-testid="reaction-count">{r.count}</span>
            </button>
            <span class="tip" role="tooltip" id={tip} data-testid="reaction-who">
              {reactedBy(r, store.me.id, (id) => store.names.get(id))} reacted with {r.emoji}
            </span>
          </span>
        );
      })}
      <span class="picker-wrap">
        <button ref={trigger} class="link react-open" aria-expanded={open} aria-label="Add a reaction" onClick={() => setOpen(!open)} data-testid="react-open">
          <span aria-hidden="true">☺+</span>
        </button>
        {open && (
          <div
            ref={picker}
            class="picker"
            role="group"
            aria-label="Pick a reaction"
            onKeyDown={onKey}
            onFocusOut={(e) => {
              const to = e.relatedTarget as Node | null;
              if (!to || (!picker.current?.contains(to) && to !== trigger.current)) setOpen(false);
            }}
            data-testid="reaction-picker"
          >
            {QUICK_REACTIONS.map(([emoji, name]) => (
              <button
                key={emoji}
                aria-label={`React with ${name}`}
                aria-pressed={mineOn(emoji)}
                onClick={() => (void store.react(m.id, emoji, !mineOn(emoji)), close())}
                data-testid="reaction-option"
                data-emoji={emoji}
              >
                {emoji}
              </button>
            ))}
          </div>
        )}
      </span>
    </div>
  );
}

/** A thread beside the timeline: its root, the replies (paged), and a composer that replies. */
function ThreadPanel({ store, room, rootId, close }: { store: ChatStore; room: Room; rootId: string; close: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const log = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  useEffect(() => {
    void store.openThread(rootId).then(
      () => setLoaded(true),
      (e) => setError(plain(e)),
    );
  }, [rootId]);
  const t = store.threads.get(rootId);
  const replies = store.threadReplies(rootId);
  // A search hit in this thread: page on to it, then show it.
  const focus = loaded && store.focus?.rootId === rootId ? store.focus : null;
  useEffect(() => {
    if (!focus) return;
    const el = log.current?.querySelector<HTMLElement>(`[data-id="${focus.messageId}"]`);
    if (!el) {
      if (t?.hasMore) void store.loadRepliesUntil(rootId, focus.messageId).catch((e) => setError(plain(e)));
      else store.focused();
      return;
    }
    atBottom.current = false;
    el.scrollIntoView({ block: 'center' });
    flash(el);
    store.focused();
  }, [focus, replies.length]);
  useLayoutEffect(() => {
    const el = log.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [replies.length]);
  let prev: ChatMessage | undefined;
  return (
    <SidePanel id="thread-heading" heading="Thread" close={close} testid="thread-panel" wide>
      {error && (
        <p class="notice" role="status">
          {error}
        </p>
      )}
      {!t && !error && <p class="muted">Loading…</p>}
      {t && (
        <>
          <MessageView store={store} m={t.root} grouped={false} testid="thread-root" />
          <p class="muted small thread-count" data-testid="thread-count">
            {t.root.replyCount} {t.root.replyCount === 1 ? 'reply' : 'replies'}
          </p>
          <div
            class="thread-replies"
            ref={log}
            role="log"
            aria-label="Replies"
            tabIndex={0}
            onScroll={(e) => {
              const el = e.currentTarget;
              atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
            }}
            data-testid="thread-replies"
          >
            {replies.map((m) => {
              const grouped = continuesGroup(prev, m);
              prev = m;
              return <MessageView key={m.id} store={store} m={m} grouped={grouped} testid="thread-reply" />;
            })}
            {t.hasMore && (
              <button onClick={() => void store.loadMoreReplies(rootId).catch((e) => setError(plain(e)))} data-testid="thread-more">
                Load more replies
              </button>
            )}
          </div>
          {t.root.deleted ? (
            <p class="muted small">The message was deleted, so its thread takes no more replies.</p>
          ) : (
            <Composer store={store} room={room} threadId={rootId} />
          )}
        </>
      )}
    </SidePanel>
  );
}

/** Highlights a message for a moment (a search hit that was jumped to). */
function flash(el: HTMLElement) {
  el.classList.add('flash');
  setTimeout(() => el.classList.remove('flash'), 2500);
}

/** Search results in the main pane: room, sender, time and the matched words; a hit opens its message in context. */
function SearchView({ store, q, close, onBack, open }: { store: ChatStore; q: string; close: () => void; onBack: () => void; open: (m: Message) => void }) {
  const [results, setResults] = useState<SearchResult[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const load = (before: string | null) => {
    setLoading(true);
    store.search(q, before).then(
      (page) => {
        setResults((r) => (before ? [...r, ...page.results] : page.results));
        setNext(page.next);
        setLoading(false);
      },
      (e) => (setError(plain(e)), setLoading(false)),
    );
  };
  useEffect(() => load(null), [q]);
  const roomName = (roomId: string) => {
    const room = store.rooms.get(roomId);
    return room ? store.roomTitle(room) : 'a room';
  };
  return (
    <main class="conversation search-view" aria-labelledby="search-title" data-testid="search-results">
      <PaneHeader onBack={onBack} title={<h1 id="search-title">Messages matching “{q}”</h1>}>
        <button onClick={close} data-testid="search-close">
          Close search
        </button>
      </PaneHeader>
      <div class="results-scroll">
        {error && (
          <p class="notice" role="alert">
            {error}
          </p>
        )}
        <p class="sr-only" role="status">
          {loading ? 'Searching…' : `${results.length}${next ? '+' : ''} ${results.length === 1 ? 'message' : 'messages'} found`}
        </p>
        <ul class="results">
          {results.map((r) => (
            <li key={r.message.id}>
              <button class="result" onClick={() => open(r.message)} data-testid="search-result" data-id={r.message.id}>
                <span class="result-meta">
                  <strong>{roomName(r.message.roomId)}</strong>
                  <span>{r.message.senderName}</span>
                  <time dateTime={r.message.createdAt}>{new Date(r.message.createdAt).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })}</time>
                  {r.message.threadId && <span class="muted">in a thread</span>}
                </span>
                <span class="result-text" data-testid="search-highlight">
                  {highlightParts(r.highlight).map((p, i) => (p.mark ? <mark key={i}>{p.text}</mark> : p.text))}
                </span>
              </button>
            </li>
          ))}
        </ul>
        {!loading && !error && results.length === 0 && <p class="muted pad">No messages match.</p>}
        {next && (
          <button onClick={() => load(next)} disabled={loading} data-testid="search-more">
            Load more results
          </button>
        )}
      </div>
    </main>
  );
}
