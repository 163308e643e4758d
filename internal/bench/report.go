package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/eventual-go/eventual/internal/cpustat"
)

// Kind says what a [Result] measured.
type Kind string

// The kinds of results.
const (
	// KindAppend is an append case: writers appending concurrently.
	KindAppend Kind = "append"
	// KindRawInsert is the raw-insert baseline: batched inserts into a
	// copy of the events table, without event-store logic.
	KindRawInsert Kind = "raw_insert"
	// KindRatio compares the store's append throughput with the raw
	// baseline of the same database.
	KindRatio Kind = "store_raw_ratio"
	// KindReadStream is the read of one long stream with ReadStream.
	KindReadStream Kind = "read_stream"
	// KindReadAll is the catch-up read of the whole log with ReadAll.
	KindReadAll Kind = "read_all"
	// KindAggregateLoad is the repeated load of one aggregate of History
	// events, from a snapshot at its last version or not.
	KindAggregateLoad Kind = "aggregate_load"
	// KindReplay is decoding and applying events in memory.
	KindReplay Kind = "replay"
	// KindProjectionRebuild is a projection rebuilt into a SQL table from
	// the start of the log, until swapped in.
	KindProjectionRebuild Kind = "projection_rebuild"
	// KindProjectionLatency is the time from the start of an append until
	// a projection shows it (WaitFor returns).
	KindProjectionLatency Kind = "projection_latency"
	// KindRelay is the outbox relay or the event relay publishing to
	// JetStream (Method says which).
	KindRelay Kind = "relay"
	// KindRemoteLatency is the time from the start of an append until a
	// consumer in another process receives the event over JetStream.
	KindRemoteLatency Kind = "remote_latency"
	// KindSaga is 5-step sagas completed per second (Events counts them;
	// the latencies are from start to done).
	KindSaga Kind = "saga"
)

// Result is one measurement of one backend. Which fields are set depends on
// Kind; throughputs are per second of wall-clock time.
type Result struct {
	Backend string `json:"backend"`
	Kind    Kind   `json:"kind"`

	// Writers and EventsPerAppend describe an append case; for a ratio,
	// the append case it used.
	Writers         int `json:"writers,omitempty"`
	EventsPerAppend int `json:"events_per_append,omitempty"`

	// Seconds is how long the measurement ran.
	Seconds float64 `json:"seconds,omitempty"`

	// Events is the number of events appended or read; Appends the number
	// of successful appends.
	Events           int64   `json:"events,omitempty"`
	EventsPerSecond  float64 `json:"events_per_second,omitempty"`
	Appends          int64   `json:"appends,omitempty"`
	AppendsPerSecond float64 `json:"appends_per_second,omitempty"`

	// Latencies of the successful appends, in milliseconds.
	LatencyP50Ms  float64 `json:"latency_p50_ms,omitempty"`
	LatencyP99Ms  float64 `json:"latency_p99_ms,omitempty"`
	LatencyP999Ms float64 `json:"latency_p999_ms,omitempty"`

	// Batches is the number of group-commit transactions an append case
	// ran (when the store reports it); BatchMs the mean time from a
	// batch's first append taken to its commit known. Appends ÷ Batches
	// is how full they were.
	Batches int64   `json:"batches,omitempty"`
	BatchMs float64 `json:"batch_ms,omitempty"`

	// CPU is how busy the machine's CPUs were (all of them) while an
	// append case or raw baseline ran, and how much of their time the
	// hypervisor stole; nil where /proc/stat cannot be read. Steal means a
	// slower machine: compare runs with it.
	CPU *cpustat.Use `json:"cpu,omitempty"`

	// Errors counts failed appends; FirstError is the first of them.
	Errors     int64  `json:"errors"`
	FirstError string `json:"first_error,omitempty"`

	// Rows, BatchRows and RowsPerSecond describe the raw-insert baseline;
	// Method says how it inserts. A ratio's BatchRows are those of the
	// baseline it compares with.
	Rows          int64   `json:"rows,omitempty"`
	BatchRows     int     `json:"batch_rows,omitempty"`
	RowsPerSecond float64 `json:"rows_per_second,omitempty"`
	Method        string  `json:"method,omitempty"`
	// CommitP50Ms is the median time of a durable commit of one row on
	// the baseline's connection: the least a batch of appends costs.
	CommitP50Ms float64 `json:"commit_p50_ms,omitempty"`

	// StoreEventsPerSecond ÷ RawRowsPerSecond = Ratio, for KindRatio.
	StoreEventsPerSecond float64 `json:"store_events_per_second,omitempty"`
	RawRowsPerSecond     float64 `json:"raw_rows_per_second,omitempty"`
	Ratio                float64 `json:"ratio,omitempty"`

	// History is the number of events of the aggregate loaded, Snapshot
	// whether it loaded from a snapshot (50 events behind the head, or half
	// the history when shorter), Cached whether from the repository's
	// cache (aggregate.WithCache, filled by a first load), Loads how many
	// loads were timed (their latencies are in the Latency fields), for
	// KindAggregateLoad. For KindSaga, Cached tells that the orchestrator
	// kept states in memory (saga.WithStateCache).
	History  int  `json:"history,omitempty"`
	Snapshot bool `json:"snapshot,omitempty"`
	Cached   bool `json:"cached,omitempty"`
	Loads    int  `json:"loads,omitempty"`
}

// Machine describes where the benchmark ran.
type Machine struct {
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	// CPUModel is the processor's name where the system tells it.
	CPUModel string `json:"cpu_model,omitempty"`
}

// CurrentMachine describes the machine the process runs on.
func CurrentMachine() Machine {
	return Machine{
		GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(), CPUModel: cpuModel(),
	}
}

// cpuModel reads the processor name from /proc/cpuinfo, or returns "".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// BackendInfo describes a benchmarked database.
type BackendInfo struct {
	Name string `json:"name"`
	// Version is the database's version, if it has one.
	Version string `json:"version,omitempty"`
	// Location is the SQLite file or the PostgreSQL schema used.
	Location string `json:"location,omitempty"`
	// Note says what could not be measured, if anything.
	Note string `json:"note,omitempty"`
}

// Report is the outcome of [Run].
type Report struct {
	Machine   Machine   `json:"machine"`
	Config    Config    `json:"config"`
	StartedAt time.Time `json:"started_at"`
	// Seconds is the run's total wall-clock time.
	Seconds  float64       `json:"seconds"`
	Backends []BackendInfo `json:"backends"`
	Results  []Result      `json:"results"`
	// Problems lists the failures that stopped a backend's run early.
	Problems []string `json:"problems,omitempty"`
	// Interrupted tells whether the run was cancelled before its end.
	Interrupted bool `json:"interrupted,omitempty"`
}

// WriteJSON writes r as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("bench: write JSON report: %w", err)
	}
	return nil
}

// WriteJSONFile writes r as indented JSON to the file at path.
func (r Report) WriteJSONFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: create JSON report: %w", err)
	}
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: write JSON report: %w", err)
	}
	return nil
}

// WriteHeader writes the machine and the configuration.
func (r Report) WriteHeader(w io.Writer) error {
	m, c := r.Machine, r.Config
	var b strings.Builder
	fmt.Fprintf(&b, "eventual bench  %s\n", r.StartedAt.Format(time.RFC3339))
	fmt.Fprintf(&b, "machine: %s/%s, %d CPUs (GOMAXPROCS %d), %s", m.GOOS, m.GOARCH, m.NumCPU, m.GOMAXPROCS, m.GoVersion)
	if m.CPUModel != "" {
		fmt.Fprintf(&b, ", %s", m.CPUModel)
	}
	stream := strconv.Itoa(c.StreamLength) + " events"
	if c.StreamLength == 0 {
		stream = "endless (one per writer)"
	}
	if len(c.Cases) > 0 {
		fmt.Fprintf(&b, "\ncases:   %s", strings.Join(c.Cases, ","))
	}
	fmt.Fprintf(&b, "\nconfig:  backends %s; %v per case; writers %s; events/append %s; stream length %s; payload %d B; SQLite sync %s; raw batch %d; read stream %d events; projection %d events; relay %d messages; messaging %d/s\n",
		strings.Join(c.Backends, ","), c.Duration, joinInts(c.Writers), joinInts(c.EventsPerAppend),
		stream, c.PayloadBytes, c.Sync, c.RawBatch, c.ReadStreamEvents, c.ProjectionEvents, c.RelayMessages, c.MessagingRate)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteTable writes the results as tables: the append cases, the raw
// baseline with the store/raw ratio, and the reads; then the databases used
// and any errors.
func (r Report) WriteTable(w io.Writer) error {
	var buf strings.Builder
	table := func(title, head string, rows []string) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(&buf, "\n%s\n", title)
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, head)
		for _, row := range rows {
			fmt.Fprintln(tw, row)
		}
		tw.Flush()
	}

	var appends, raw, reads, loads, messaging []string
	for _, res := range r.Results {
		switch res.Kind {
		case KindAppend:
			perBatch, batchMs := "-", "-"
			if res.Batches > 0 {
				perBatch, batchMs = strconv.FormatFloat(float64(res.Appends)/float64(res.Batches), 'f', 1, 64), msText(res.BatchMs)
			}
			appends = append(appends, fmt.Sprintf("%s\tappend\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t",
				res.Backend, res.Writers, res.EventsPerAppend, rate(res.EventsPerSecond), rate(res.AppendsPerSecond),
				msText(res.LatencyP50Ms), msText(res.LatencyP99Ms), msText(res.LatencyP999Ms), res.Errors, perBatch, batchMs,
				cpuText(res)))
		case KindRawInsert:
			// The ceiling: a batch holds at most one append per writer and
			// pays at least one commit.
			ratioCase, storeRate, ratio, commit, ceiling := "-", "-", "-", "-", "-"
			if res.CommitP50Ms > 0 {
				commit = msText(res.CommitP50Ms)
			}
			for _, q := range r.Results {
				if q.Kind == KindRatio && q.Backend == res.Backend && q.BatchRows == res.BatchRows {
					ratioCase = fmt.Sprintf("%d writers, %d event/append", q.Writers, q.EventsPerAppend)
					storeRate, ratio = rate(q.StoreEventsPerSecond), strconv.FormatFloat(q.Ratio, 'f', 3, 64)
					if res.CommitP50Ms > 0 {
						ceiling = rate(float64(q.Writers*q.EventsPerAppend) / (res.CommitP50Ms / 1000))
					}
				}
			}
			raw = append(raw, fmt.Sprintf("%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t",
				res.Backend, res.Method, res.BatchRows, rate(res.RowsPerSecond), ratioCase, storeRate, ratio,
				commit, ceiling, cpuText(res)))
		case KindReadStream:
			reads = append(reads, fmt.Sprintf("%s\tReadStream, one stream forward\t%d\t%s\t%.3f\t",
				res.Backend, res.Events, rate(res.EventsPerSecond), res.Seconds))
		case KindReadAll:
			reads = append(reads, fmt.Sprintf("%s\tReadAll from position 0\t%d\t%s\t%.3f\t",
				res.Backend, res.Events, rate(res.EventsPerSecond), res.Seconds))
		case KindReplay:
			reads = append(reads, fmt.Sprintf("%s\tdecode and apply (replay)\t%d\t%s\t%.3f\t",
				res.Backend, res.Events, rate(res.EventsPerSecond), res.Seconds))
		case KindProjectionRebuild:
			messaging = append(messaging, fmt.Sprintf("%s\tprojection rebuild into a SQL table (%s)\t%d\t%s\t-\t-\t-\t%d\t",
				res.Backend, res.Method, res.Events, rate(res.EventsPerSecond), res.Errors))
		case KindProjectionLatency:
			messaging = append(messaging, fmt.Sprintf("%s\tappend → projection visible\t%d\t%s\t%s\t%s\t%s\t%d\t",
				res.Backend, res.Events, rate(res.EventsPerSecond), msText(res.LatencyP50Ms), msText(res.LatencyP99Ms),
				msText(res.LatencyP999Ms), res.Errors))
		case KindRelay:
			messaging = append(messaging, fmt.Sprintf("%s\t%s to JetStream\t%d\t%s\t-\t-\t-\t%d\t",
				res.Backend, res.Method, res.Events, rate(res.EventsPerSecond), res.Errors))
		case KindRemoteLatency:
			messaging = append(messaging, fmt.Sprintf("%s\tappend → consumer in another process (JetStream)\t%d\t%s\t%s\t%s\t%s\t%d\t",
				res.Backend, res.Events, rate(res.EventsPerSecond), msText(res.LatencyP50Ms), msText(res.LatencyP99Ms),
				msText(res.LatencyP999Ms), res.Errors))
		case KindSaga:
			what := "5-step sagas completed (in-process transport), start → done"
			if res.Cached {
				what += ", state cache"
			}
			messaging = append(messaging, fmt.Sprintf("%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t",
				res.Backend, what, res.Events, rate(res.EventsPerSecond), msText(res.LatencyP50Ms), msText(res.LatencyP99Ms),
				msText(res.LatencyP999Ms), res.Errors))
		case KindAggregateLoad:
			from, replay := "events only", rate(res.EventsPerSecond)
			switch {
			case res.Snapshot:
				from, replay = "snapshot + tail", "-"
			case res.Cached:
				from, replay = "cache (WithCache)", "-"
			}
			loads = append(loads, fmt.Sprintf("%s\t%d\t%s\t%d\t%s\t%s\t%s\t",
				res.Backend, res.History, from, res.Loads, msText(res.LatencyP50Ms), msText(res.LatencyP99Ms), replay))
		}
	}
	table("APPENDS", "backend\tcase\twriters\tevents/append\tevents/s\tappends/s\tp50 ms\tp99 ms\tp99.9 ms\terrors\tappends/batch\tms/batch\tcpu busy/steal %\t", appends)
	table("RAW LIMIT (same database, same table shape, no event-store logic)",
		"backend\tmethod\tbatch\trows/s\tcompared with store case\tstore events/s\tstore/raw\t1-row commit p50 ms\tceiling events/s\tcpu busy/steal %\t", raw)
	table("READS", "backend\tread\tevents\tevents/s\tseconds\t", reads)
	table("PROJECTIONS AND MESSAGING", "backend\tcase\tevents\tevents/s\tp50 ms\tp99 ms\tp99.9 ms\terrors\t", messaging)
	table("AGGREGATE LOADS", "backend\thistory\tfrom\tloads\tp50 ms\tp99 ms\treplayed events/s\t", loads)

	buf.WriteString("\n")
	for _, b := range r.Backends {
		fmt.Fprintf(&buf, "%s\n", b)
		if b.Note != "" {
			fmt.Fprintf(&buf, "%s: note: %s\n", b.Name, b.Note)
		}
	}
	for _, res := range r.Results {
		if res.FirstError != "" {
			fmt.Fprintf(&buf, "%s %s, %d writers, %d events/append: %d errors, the first: %s\n",
				res.Backend, res.Kind, res.Writers, res.EventsPerAppend, res.Errors, res.FirstError)
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&buf, "problem: %s\n", p)
	}
	if r.Interrupted {
		buf.WriteString("interrupted: the results above are partial\n")
	}
	fmt.Fprintf(&buf, "total time %.1fs\n", r.Seconds)
	if _, err := io.WriteString(w, buf.String()); err != nil {
		return fmt.Errorf("bench: write table: %w", err)
	}
	return nil
}

// String describes the backend in one line.
func (b BackendInfo) String() string {
	s := b.Name + ":"
	if b.Version != "" {
		s += " " + b.Version
	}
	if b.Location != "" {
		s += " at " + b.Location
	}
	return s
}

// rate formats a per-second rate with thousands separators.
func rate(v float64) string {
	n := int64(v + 0.5)
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// msText formats milliseconds with three significant decimals for small
// values.
func msText(v float64) string {
	switch {
	case v < 1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	case v < 100:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
