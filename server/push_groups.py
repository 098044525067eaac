"""Group commit for the direct push on PostgreSQL: pushes that reach one worker process at the same moment share
one transaction — one round trip for all their reads, one for all their writes and one commit — and each is
answered after that commit.

At a push of one record, a push's own statements are a fraction of what its transaction costs: the two round trips
(each a wake-up of the worker and of PostgreSQL), BEGIN and COMMIT with its WAL flush, a connection from the
pool. A plain INSERT of one row pays the same, so against it a push of one measured a fifth to a quarter of the
way it needs (BENCHMARKS.md, the twelfth and thirteenth sessions); pushes that arrive together — four phones on
two processes in the benchmark, a thousand at the end of an outage — share those costs here, as the records of
one push of ten already do.

How a group forms, one process at a time (gevent's greenlets or threads — both wait on `threading`'s locks,
which gevent patches):

* A push that finds no group under way **leads**: it first lets whatever else is ready in the process run
  (under gevent: until the loop is idle, so pushes whose requests have arrived are read and parsed and join the
  queue — CPU the process would spend anyway, with no timer), then takes the queue as its group.
* A push that finds a group under way waits in the queue; when the group ends, the first one waiting (the
  next leader) leads the next. So a group is everything that arrived meanwhile, and normally one group per
  process is at the database. But one slow group must not hold up the process (a push waiting for its worker's
  lock, held by an administrator's transaction, say): the next leader waits at most PATIENCE for it, then leads
  its group beside it.
* A group takes at most one push per worker (`key`) — a push must see its worker's previous push stored — and
  at most `limit` pushes; the rest wait for the next.

`run(group)` (server.ingest) stores the group and sets each member's `answer`; if the shared transaction
fails, it answers each member ALONE and that push then runs by itself, as it would have without groups.
"""
import threading

ALONE = object()  # a member's answer: run again in a transaction of its own
PATIENCE = 0.02  # seconds the next leader waits for a group at the database before it leads one beside it


class Member:
    """One push waiting for, or in, a group: what `run` needs (`work`), its group key, and its answer."""

    __slots__ = ("work", "key", "answer", "_woken", "_done", "_leads")

    def __init__(self, work, key):
        self.work, self.key, self.answer = work, key, ALONE
        self._woken, self._done, self._leads = None, False, False


class PushGroups:
    """The groups of one process and one app (server.ingest keeps one per app)."""

    def __init__(self, run, limit=32, patience=PATIENCE, let_others_run=None):
        self._run, self._limit, self._patience = run, limit, patience
        self._let_others_run = let_others_run or _let_others_run
        self._mutex = threading.Lock()
        self._queue = []  # members not yet in a group, in arrival order
        self._running = 0  # groups forming or at the database
        self._next = None  # the queued member that leads the next group, if one is named
        self.groups = self.members = 0  # how much sharing happened

    def submit(self, work, key):
        """Run `work` in a group; returns its answer (ALONE: the caller runs it by itself)."""
        me = Member(work, key)
        with self._mutex:
            self._queue.append(me)
            leads = not self._running
            if leads:
                self._running = 1
            else:
                me._woken = threading.Event()
                if self._next is None:
                    self._next = me
        if not leads:
            try:
                leads = self._wait(me)
            except BaseException:  # killed while waiting (a timeout): out of the queue, and not leaving it leaderless
                self._withdraw(me)
                raise
            if not leads:
                return me.answer
        self._lead(me)
        return me.answer

    def _wait(self, me):
        """Wait for its group's answer (False), or to lead a group (True): when a group ends, or — as the next
        leader — when the group at the database has taken longer than `patience` (it waits for a lock, say, or
        PostgreSQL is slow): then it leads one beside it, so one slow push never holds up the process's others."""
        while True:
            woken = me._woken.wait(self._patience if self._next is me else None)
            with self._mutex:
                if me._done:
                    return False
                if me._leads:  # a group that ended handed it its place
                    me._leads = False
                    return True
                if not woken and self._next is me:
                    self._next = None
                    self._running += 1
                    return True
                # its patience ran out, but another leader took it into a group meanwhile: wait for the answer

    def _lead(self, me):
        group = []
        try:
            self._let_others_run()
            with self._mutex:
                self._queue.remove(me)
                group, keys, rest = [me], {me.key}, []
                for member in self._queue:
                    if member.key in keys or len(group) == self._limit:
                        rest.append(member)
                    else:
                        keys.add(member.key)
                        group.append(member)
                        if member is self._next:
                            self._next = None
                self._queue = rest
            self.groups += 1
            self.members += len(group)
            self._run(group)
        finally:  # whatever happened, every member of the group is answered and the queue has a leader
            with self._mutex:
                if me in self._queue:  # it failed before taking its group: `me` goes ALONE
                    self._queue.remove(me)
                group = group or [me]
                following = self._hand_over()
            for member in group:
                member._done = True
                if member._woken is not None:
                    member._woken.set()
            if following is not None:
                following._woken.set()

    def _hand_over(self):
        """(Under the mutex.) A group's place at the database is free: to the next leader, if anyone waits (the
        member to wake), else given up."""
        if not self._queue:
            self._running -= 1
            return None
        following = self._next or self._queue[0]
        self._next = None
        following._leads = True
        return following

    def _withdraw(self, me):
        with self._mutex:
            if me not in self._queue:
                return  # in a group already: it is stored or not as the group goes, and nobody hears of it
            self._queue.remove(me)
            if self._next is me:
                self._next = None
            if not me._leads:
                return
            following = self._hand_over()  # it had been handed a group's place: pass it on
        if following is not None:
            following._woken.set()


def _let_others_run():
    """Under gevent, wait until the event loop is idle: every greenlet that is ready, or whose socket has data,
    runs until it waits (a push that arrived meanwhile is read, parsed and queued). Elsewhere nothing: threads
    run anyway, and a process with one request at a time has nobody to wait for."""
    if _gevent_idle is not None:
        _gevent_idle()


def _patched_idle():
    try:
        import gevent
        import gevent.monkey
    except ImportError:
        return None
    return gevent.idle if gevent.monkey.is_module_patched("socket") else None


_gevent_idle = _patched_idle()
