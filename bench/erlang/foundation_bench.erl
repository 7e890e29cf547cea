%% foundation_bench: the Erlang/OTP side of foundation's side-by-side benchmark.
%%
%% Run one workload per fresh VM:
%%
%%   erlc -o $TMP bench/erlang/foundation_bench.erl
%%   erl +S 1 -noshell -pa $TMP -run foundation_bench main <workload> <arg1> [<arg2>] -s init stop
%%
%% Output contract (shared with the Rust harness): stdout carries one JSON object
%% per line per metric and nothing else, e.g.
%%
%%   {"workload":"counting","metric":"rate","value":3080000.0}
%%
%% Anything chatty goes to stderr. A bad workload name or bad arguments print a
%% message on stderr and halt with status 2; a failed run (an assertion, a
%% crash) halts with status 1.
%%
%% Workloads (names, args and metrics are the contract; see README.md):
%%   counting N           rate
%%   pingpong N K         rate
%%   call N               rate, p50_us, p99_us, p999_us
%%   actor_call N         rate
%%   ring Actors Hops     setup_ms, rate
%%   spawn N              rate
%%   restart N            p50_us, p99_us
%%   memory N             bytes_per_actor
%%   table N              write_rate, lookup_rate, write_many_rate
%%
%% Every actor is a gen_server implemented by this module; the role is chosen by
%% the argument given to init/1. init/1 also serves as the supervisor callback
%% for the `restart` workload (init({sup, ...}) returns the supervisor spec); only
%% the gen_server behaviour is declared so that erlc does not warn about the
%% init/1 callback being claimed by two behaviours.
-module(foundation_bench).
-behaviour(gen_server).

-export([main/1]).
-export([start_worker/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(PROBE, foundation_bench_probe).

%%====================================================================
%% Entry point
%%====================================================================

main(Args) ->
    quiet_logger(),
    case parse(Args) of
        {ok, Fun} ->
            try
                Fun()
            catch
                Class:Reason:Stack ->
                    io:format(standard_error, "foundation_bench: ~p failed: ~p:~p~n~p~n",
                              [Args, Class, Reason, Stack]),
                    erlang:halt(1)
            end;
        {error, Msg} ->
            io:format(standard_error, "foundation_bench: ~s~n~s", [Msg, usage()]),
            erlang:halt(2)
    end,
    ok.

usage() ->
    "usage: erl -noshell -pa DIR -run foundation_bench main WORKLOAD ARGS... -s init stop\n"
    "  counting N | pingpong N K | call N | actor_call N | ring Actors Hops\n"
    "  spawn N | restart N | memory N | table N\n".

parse(["counting", N]) -> with_ints([N], fun([A]) -> fun() -> counting(A) end end);
parse(["pingpong", N, K]) ->
    with_ints([N, K], fun([A, B]) when B =< A -> fun() -> pingpong(A, B) end;
                         (_) -> {error, "pingpong: K must be =< N"} end);
parse(["call", N]) -> with_ints([N], fun([A]) -> fun() -> call(A) end end);
parse(["actor_call", N]) -> with_ints([N], fun([A]) -> fun() -> actor_call(A) end end);
parse(["ring", Actors, Hops]) ->
    with_ints([Actors, Hops], fun([A, H]) -> fun() -> ring(A, H) end end);
parse(["spawn", N]) -> with_ints([N], fun([A]) -> fun() -> spawn_bench(A) end end);
parse(["restart", N]) -> with_ints([N], fun([A]) -> fun() -> restart(A) end end);
parse(["memory", N]) -> with_ints([N], fun([A]) -> fun() -> memory(A) end end);
parse(["table", N]) -> with_ints([N], fun([A]) -> fun() -> table(A) end end);
parse(Other) ->
    {error, io_lib:format("unknown workload or wrong number of arguments: ~p", [Other])}.

%% Every argument must be a positive integer.
with_ints(Strs, Make) ->
    try [list_to_integer(S) || S <- Strs] of
        Ints ->
            case lists:all(fun(I) -> I > 0 end, Ints) of
                true ->
                    case Make(Ints) of
                        {error, _} = E -> E;
                        F when is_function(F, 0) -> {ok, F}
                    end;
                false ->
                    {error, io_lib:format("arguments must be positive integers: ~p", [Strs])}
            end
    catch
        error:badarg ->
            {error, io_lib:format("arguments must be integers: ~p", [Strs])}
    end.

%% Keep stdout for the JSON lines only: the default logger handler writes to
%% standard_io, so replace it with one that writes to standard_error. The
%% `restart` workload additionally silences logging altogether (see restart/1).
quiet_logger() ->
    _ = logger:remove_handler(default),
    ok = logger:add_handler(default, logger_std_h,
                            #{config => #{type => standard_error}}),
    ok.

%%====================================================================
%% Output helpers
%%====================================================================

emit(Workload, Metric, Value) ->
    io:put_chars(standard_io,
                 ["{\"workload\":\"", Workload, "\",\"metric\":\"", Metric,
                  "\",\"value\":", fmt_float(float(Value)), "}\n"]).

fmt_float(F) ->
    float_to_list(F, [{decimals, 3}, compact]).

now_ns() -> erlang:monotonic_time(nanosecond).

secs(T0, T1) -> max(T1 - T0, 1) / 1.0e9.

%% Percentile p of a sorted tuple: index round((len-1)*p), 0-based.
pct(Sorted, P) ->
    Len = tuple_size(Sorted),
    element(round((Len - 1) * P) + 1, Sorted).

ns_to_us(Ns) -> Ns / 1000.0.

log(Fmt, Args) -> io:format(standard_error, Fmt, Args).

%%====================================================================
%% 1. counting N
%%====================================================================

counting(N) ->
    {ok, Pid} = gen_server:start(?MODULE, counter, []),
    Payload = <<0:128>>,                      % 16-byte binary
    T0 = now_ns(),
    cast_loop(Pid, Payload, N),
    Count = gen_server:call(Pid, count, infinity),
    T1 = now_ns(),
    Count =:= N orelse error({count_mismatch, Count, N}),
    emit("counting", "rate", N / secs(T0, T1)),
    gen_server:stop(Pid).

cast_loop(_Pid, _Payload, 0) -> ok;
cast_loop(Pid, Payload, I) ->
    gen_server:cast(Pid, {add, Payload}),
    cast_loop(Pid, Payload, I - 1).

%%====================================================================
%% 2. pingpong N K
%%====================================================================

%% A and B bounce K balls via gen_server:cast. Each ball does N div K round
%% trips (A -> B -> A); A tells the driver when the last ball finishes.
pingpong(N, K) ->
    PerBall = N div K,
    Trips = PerBall * K,
    {ok, B} = gen_server:start(?MODULE, pong, []),
    {ok, A} = gen_server:start(?MODULE, ping, []),
    T0 = now_ns(),
    gen_server:cast(A, {start, B, K, PerBall, self()}),
    receive pingpong_done -> ok end,
    T1 = now_ns(),
    emit("pingpong", "rate", 2 * Trips / secs(T0, T1)),
    gen_server:stop(A),
    gen_server:stop(B).

%%====================================================================
%% 3. call N
%%====================================================================

call(N) ->
    {ok, Pid} = gen_server:start(?MODULE, echo, []),
    T0 = now_ns(),
    Samples = call_loop(Pid, N, []),
    T1 = now_ns(),
    Sorted = list_to_tuple(lists:sort(Samples)),
    emit("call", "rate", N / secs(T0, T1)),
    emit("call", "p50_us", ns_to_us(pct(Sorted, 0.50))),
    emit("call", "p99_us", ns_to_us(pct(Sorted, 0.99))),
    emit("call", "p999_us", ns_to_us(pct(Sorted, 0.999))),
    gen_server:stop(Pid).

call_loop(_Pid, 0, Acc) -> Acc;
call_loop(Pid, I, Acc) ->
    S = erlang:monotonic_time(nanosecond),
    {echo, <<"x">>} = gen_server:call(Pid, {echo, <<"x">>}, infinity),
    E = erlang:monotonic_time(nanosecond),
    call_loop(Pid, I - 1, [E - S | Acc]).

%%====================================================================
%% 4. actor_call N
%%====================================================================

actor_call(N) ->
    {ok, B} = gen_server:start(?MODULE, echo, []),
    {ok, A} = gen_server:start(?MODULE, {caller, B}, []),
    T0 = now_ns(),
    gen_server:cast(A, {go, N, self()}),
    receive done -> ok end,
    T1 = now_ns(),
    emit("actor_call", "rate", N / secs(T0, T1)),
    gen_server:stop(A),
    gen_server:stop(B).

%%====================================================================
%% 5. ring Actors Hops (Savina ThreadRing)
%%====================================================================

%% The ring members are gen_servers (for parity with foundation's actors).
%% They are started last-to-first so each one gets its successor in init; the
%% last one is then pointed at the first with a synchronous call, so the ring
%% is fully wired when setup ends.
ring(Actors, Hops) ->
    Driver = self(),
    T0 = now_ns(),
    {ok, Last} = gen_server:start(?MODULE, {ring_node, undefined, Driver}, []),
    First = ring_spawn(Actors - 1, Last, Driver),
    ok = gen_server:call(Last, {set_next, First}, infinity),
    T1 = now_ns(),
    emit("ring", "setup_ms", (T1 - T0) / 1.0e6),
    T2 = now_ns(),
    gen_server:cast(First, {token, Hops}),
    receive ring_done -> ok end,
    T3 = now_ns(),
    emit("ring", "rate", Hops / secs(T2, T3)).
    %% The ring members are left idle; `-s init stop` takes them down.

ring_spawn(0, Next, _Driver) -> Next;
ring_spawn(I, Next, Driver) ->
    {ok, Pid} = gen_server:start(?MODULE, {ring_node, Next, Driver}, []),
    ring_spawn(I - 1, Pid, Driver).

%%====================================================================
%% 6. spawn N (fork-join creation, window of 64)
%%====================================================================

-define(WINDOW, 64).

%% Each process is a gen_server started with gen_server:start_monitor (init does
%% nothing), then told to stop with a cast (handle_cast returns
%% {stop, normal, State}). At most 64 are alive at once: when 64 are alive, the
%% driver waits for the oldest one's DOWN before starting the next.
spawn_bench(N) ->
    T0 = now_ns(),
    spawn_loop(N, queue:new(), 0),
    T1 = now_ns(),
    emit("spawn", "rate", N / secs(T0, T1)).

spawn_loop(0, Q, _Alive) ->
    drain(Q);
spawn_loop(I, Q, ?WINDOW) ->
    {{value, Ref}, Q1} = queue:out(Q),
    receive {'DOWN', Ref, process, _, normal} -> ok end,
    spawn_loop(I, Q1, ?WINDOW - 1);
spawn_loop(I, Q, Alive) ->
    {ok, {Pid, Ref}} = gen_server:start_monitor(?MODULE, idle, []),
    gen_server:cast(Pid, stop),
    spawn_loop(I - 1, queue:in(Ref, Q), Alive + 1).

drain(Q) ->
    case queue:out(Q) of
        {empty, _} -> ok;
        {{value, Ref}, Q1} ->
            receive {'DOWN', Ref, process, _, normal} -> ok end,
            drain(Q1)
    end.

%%====================================================================
%% 7. restart N (supervisor one_for_one, named child `w`)
%%====================================================================

%% Crash logging: logger:set_primary_config(level, none) silences every log
%% event (the child's crash report and the supervisor's child_terminated
%% report) before it is formatted, so logging does not dominate the figure.
%% (foundation's crash logging is also off during its bench.)
restart(N) ->
    ok = logger:set_primary_config(level, none),
    true = register(?PROBE, self()),
    {ok, Sup} = supervisor:start_link(?MODULE, {sup, ?PROBE}),
    receive {started, _} -> ok end,           % the first start
    Samples = restart_loop(N, []),
    Sorted = list_to_tuple(lists:sort(Samples)),
    emit("restart", "p50_us", ns_to_us(pct(Sorted, 0.50))),
    emit("restart", "p99_us", ns_to_us(pct(Sorted, 0.99))),
    unlink(Sup),
    exit(Sup, shutdown).

restart_loop(0, Acc) -> Acc;
restart_loop(I, Acc) ->
    T0 = now_ns(),
    gen_server:cast(w, crash),
    receive {started, _} -> ok end,
    {echo, <<"x">>} = gen_server:call(w, {echo, <<"x">>}, infinity),
    T1 = now_ns(),
    restart_loop(I - 1, [T1 - T0 | Acc]).

start_worker(Probe) ->
    gen_server:start_link({local, w}, ?MODULE, {worker, Probe}, []).

%%====================================================================
%% 8. memory N
%%====================================================================

%% OS resident set size from /proc/self/status (VmRSS), as on the Rust side.
memory(N) ->
    erlang:garbage_collect(),
    Before = rss_bytes(),
    memory_spawn(N),
    erlang:garbage_collect(),
    After = rss_bytes(),
    log("memory: VmRSS before ~B after ~B, erlang:memory(processes) ~B~n",
        [Before, After, erlang:memory(processes)]),
    emit("memory", "bytes_per_actor", (After - Before) / N).
    %% The idle servers are left alive; `-s init stop` takes them down.

%% The pids are not kept, so the driver's heap does not grow with N.
memory_spawn(0) -> ok;
memory_spawn(I) ->
    {ok, _} = gen_server:start(?MODULE, idle, []),
    memory_spawn(I - 1).

rss_bytes() ->
    {ok, Bin} = file:read_file("/proc/self/status"),
    [Line] = [L || L <- binary:split(Bin, <<"\n">>, [global]),
                   binary:match(L, <<"VmRSS:">>) =:= {0, 6}],
    [_, Kb, <<"kB">>] = binary:split(Line, [<<" ">>, <<"\t">>], [global, trim_all]),
    binary_to_integer(Kb) * 1024.

%%====================================================================
%% 9. table N (ETS)
%%====================================================================

%% A `set` table with read_concurrency, owned by the driver (protected: the
%% owner writes, others read). write_rate: N*16 overwriting inserts by the
%% owner. lookup_rate: two readers, each N*32 lookups of pseudo-random keys,
%% running concurrently; total lookups / wall seconds.
table(N) ->
    Tab = ets:new(foundation_bench_tab, [set, protected, {read_concurrency, true}]),
    Val = <<0:128>>,                          % 16-byte binary
    fill(Tab, 0, N, Val),
    Writes = N * 16,
    T0 = now_ns(),
    overwrite(Tab, 16, N, Val),
    T1 = now_ns(),
    emit("table", "write_rate", Writes / secs(T0, T1)),
    Driver = self(),
    PerReader = N * 32,
    Readers = [spawn_link(fun() -> reader(Driver, Tab, N, PerReader, Seed) end)
               || Seed <- [12345, 67890]],
    [receive {ready, R} -> ok end || R <- Readers],
    T2 = now_ns(),
    [R ! go || R <- Readers],
    [receive {lookups_done, R} -> ok end || R <- Readers],
    T3 = now_ns(),
    emit("table", "lookup_rate", 2 * PerReader / secs(T2, T3)),
    %% The same writes as lists of 64 tuples (ets:insert/2 with a list), as
    %% foundation's insert-many of 64.
    T4 = now_ns(),
    overwrite_many(Tab, 16, N, Val),
    T5 = now_ns(),
    emit("table", "write_many_rate", Writes / secs(T4, T5)),
    ets:delete(Tab).

overwrite_many(_Tab, 0, _N, _Val) -> ok;
overwrite_many(Tab, Passes, N, Val) ->
    fill_many(Tab, 0, N, Val),
    overwrite_many(Tab, Passes - 1, N, Val).

fill_many(_Tab, K, N, _Val) when K >= N -> ok;
fill_many(Tab, K, N, Val) ->
    Last = min(K + 64, N) - 1,
    true = ets:insert(Tab, [{I, Val} || I <- lists:seq(K, Last)]),
    fill_many(Tab, Last + 1, N, Val).

fill(_Tab, N, N, _Val) -> ok;
fill(Tab, K, N, Val) ->
    true = ets:insert(Tab, {K, Val}),
    fill(Tab, K + 1, N, Val).

overwrite(_Tab, 0, _N, _Val) -> ok;
overwrite(Tab, Passes, N, Val) ->
    fill(Tab, 0, N, Val),
    overwrite(Tab, Passes - 1, N, Val).

reader(Driver, Tab, N, Count, Seed) ->
    Driver ! {ready, self()},
    receive go -> ok end,
    lookups(Tab, N, Count, Seed),
    Driver ! {lookups_done, self()}.

%% A 32-bit LCG (Numerical Recipes' "quick and dirty") for the keys: cheap next
%% to ets:lookup, unlike rand. Its product stays below 2^55, so it never leaves
%% the small-integer range (a larger multiplier would make a bignum per step).
%% The low bits of such an LCG are weak, so the key comes from the high ones.
lookups(_Tab, _N, 0, _X) -> ok;
lookups(Tab, N, I, X) ->
    X1 = (X * 1664525 + 1013904223) band 16#FFFFFFFF,
    [{_, _}] = ets:lookup(Tab, (X1 bsr 8) rem N),
    lookups(Tab, N, I - 1, X1).

%%====================================================================
%% gen_server callbacks (and supervisor init)
%%====================================================================

%% restart: the supervisor
init({sup, Probe}) ->
    SupFlags = #{strategy => one_for_one, intensity => 1000000, period => 1},
    Child = #{id => w,
              start => {?MODULE, start_worker, [Probe]},
              restart => permanent,
              shutdown => 5000,
              type => worker},
    {ok, {SupFlags, [Child]}};
%% restart: the supervised child `w`
init({worker, Probe}) ->
    Probe ! {started, self()},
    {ok, worker};
%% counting
init(counter) -> {ok, 0};
%% pingpong
init(ping) -> {ok, undefined};
init(pong) -> {ok, pong};
%% call / actor_call callee
init(echo) -> {ok, echo};
%% actor_call caller
init({caller, Callee}) -> {ok, {caller, Callee}};
%% ring
init({ring_node, Next, Driver}) -> {ok, {ring_node, Next, Driver}};
%% spawn / memory
init(idle) -> {ok, idle}.

handle_call(count, _From, N) when is_integer(N) ->
    {reply, N, N};
handle_call({echo, X}, _From, State) ->
    {reply, {echo, X}, State};
handle_call({set_next, Next}, _From, {ring_node, _, Driver}) ->
    {reply, ok, {ring_node, Next, Driver}}.

%% counting
handle_cast({add, _Payload}, N) ->
    {noreply, N + 1};
%% pingpong, A side: launch K balls
handle_cast({start, B, K, PerBall, Driver}, undefined) ->
    Self = self(),
    [gen_server:cast(B, {ball, Self, PerBall}) || _ <- lists:seq(1, K)],
    {noreply, {ping, B, K, Driver}};
%% pingpong, A side: a round trip is complete
handle_cast({ball, 1}, {ping, B, Active, Driver}) ->
    case Active - 1 of
        0 -> Driver ! pingpong_done;
        _ -> ok
    end,
    {noreply, {ping, B, Active - 1, Driver}};
handle_cast({ball, Left}, {ping, B, _, _} = State) ->
    gen_server:cast(B, {ball, self(), Left - 1}),
    {noreply, State};
%% pingpong, B side: bounce back
handle_cast({ball, A, Left}, pong) ->
    gen_server:cast(A, {ball, Left}),
    {noreply, pong};
%% actor_call
handle_cast({go, N, ReplyTo}, {caller, Callee} = State) ->
    ok = call_n(Callee, N),
    ReplyTo ! done,
    {noreply, State};
%% ring
handle_cast({token, 0}, {ring_node, _, Driver} = State) ->
    Driver ! ring_done,
    {noreply, State};
handle_cast({token, H}, {ring_node, Next, _} = State) ->
    gen_server:cast(Next, {token, H - 1}),
    {noreply, State};
%% spawn
handle_cast(stop, State) ->
    {stop, normal, State};
%% restart
handle_cast(crash, worker) ->
    erlang:error(bench).

handle_info(_Msg, State) ->
    {noreply, State}.

call_n(_Callee, 0) -> ok;
call_n(Callee, I) ->
    {echo, <<"x">>} = gen_server:call(Callee, {echo, <<"x">>}, infinity),
    call_n(Callee, I - 1).
