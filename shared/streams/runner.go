// Package streams is the local stand-in for Lambda's DynamoDB stream event
// source mapping: it reads the sale table's stream, hands the projector
// batches in exactly the Lambda event shape, and checkpoints in DynamoDB
// after every acknowledged batch, so a restart (even after kill -9) resumes
// where it stopped. Redelivery after a crash is possible, as with Lambda;
// the projector's writes are idempotent. The runner is one file (about 400
// lines): its loop, read-ahead, shard listing and checkpoints share one
// shard's iterator and position, and split apart each would reach into the
// others' state.
package streams

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/seckill/seckill/shared/metrics"
)

// Handler is the projector's entry point.
type Handler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// Options tune the runner.
type Options struct {
	Poll time.Duration // wait between reads of a stream that just went idle
	// MaxIdlePoll is the longest wait the runner backs off to while the
	// stream stays idle: every empty poll doubles the wait, the first record
	// brings it back to Poll. Reading an idle stream is not free on DynamoDB
	// Local (it reads its data file), and after a sale nothing comes.
	MaxIdlePoll time.Duration
	BatchSize   int32 // records per GetRecords and per batch
	// MaxRetries of one failing record before it is logged and skipped, as
	// Lambda's MaximumRetryAttempts sends it to the on-failure destination.
	MaxRetries int
	// PollTimeout bounds one poll, every call in it included, so a store
	// that hangs never stalls the runner for longer.
	PollTimeout time.Duration
	// EventTime, when set, reads from a record's new image when its change
	// happened, by a clock that is right where the stream's is not: DynamoDB
	// Local rounds ApproximateCreationDateTime down to the minute, which
	// would show a minute of lag that does not exist. Records it cannot
	// date are aged from ApproximateCreationDateTime.
	EventTime func(image map[string]ddbtypes.AttributeValue) (time.Time, bool)
}

// Runner polls one table's stream.
type Runner struct {
	ddb         *dynamodb.Client
	streams     *dynamodbstreams.Client
	table       string
	checkpoints string
	handle      Handler
	opts        Options

	iterators map[string]*string // shard id → next iterator
	// ahead holds, by shard id, the read of the next batch started while
	// the batch before it is handled: under load a read and a batch's
	// writes each wait their turn in DynamoDB Local, and doing them one
	// after the other made every batch's records wait for both.
	ahead     map[string]chan fetched
	retries   map[string]int // sequence number → failed deliveries
	lagMillis atomic.Int64
	// The runner is its checkpoints' only writer: it reads each from the
	// table once, then keeps it, so a busy poll costs no reads for them.
	saved map[string]checkpoint // by cpKey
	// The shards, listed at most once per relist unless a shard closed:
	// describing the table and stream on every poll cost DynamoDB Local as
	// much as reading the records.
	arn      string
	shardsOf []types.Shard
	listedAt time.Time
}

// relist is how stale the list of shards may get. A new shard only ever
// follows one that closes, which makes the next poll list them again at
// once, and a new stream fails the old one's reads, which does too; so this
// is a safety net, and it is wide because describing the table and stream
// is most of what an idle stream costs DynamoDB Local (the figures are in
// functions/projector/README.md).
const relist = 10 * time.Second

// New returns a runner for table's stream, checkpointing in checkpoints.
func New(ddb *dynamodb.Client, st *dynamodbstreams.Client, table, checkpoints string, h Handler, opts Options) *Runner {
	if opts.Poll <= 0 {
		opts.Poll = 100 * time.Millisecond
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.MaxIdlePoll < opts.Poll {
		opts.MaxIdlePoll = max(opts.Poll, time.Second)
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 3
	}
	if opts.PollTimeout <= 0 {
		opts.PollTimeout = 10 * time.Second
	}
	return &Runner{ddb: ddb, streams: st, table: table, checkpoints: checkpoints, handle: h, opts: opts,
		iterators: map[string]*string{}, ahead: map[string]chan fetched{}, retries: map[string]int{}, saved: map[string]checkpoint{}}
}

// fetched is the answer of one GetRecords.
type fetched struct {
	out     *dynamodbstreams.GetRecordsOutput
	err     error
	readFor time.Duration
}

// readAhead starts reading its batch. The read outlives the poll that
// starts it (the next poll takes it), so it has its own deadline; a read
// nobody takes, after a failed delivery or at shutdown, is dropped, and its
// records are read again from the checkpoint.
func (r *Runner) readAhead(it *string) chan fetched {
	ch := make(chan fetched, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), r.opts.PollTimeout)
		defer cancel()
		ch <- r.getRecords(ctx, it)
	}()
	return ch
}

// getRecords reads one batch from it, timed for the batch's log line.
func (r *Runner) getRecords(ctx context.Context, it *string) fetched {
	read := time.Now()
	out, err := r.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(r.opts.BatchSize)})
	if err == nil {
		// Billed whether it returned records or not.
		metrics.Current().StreamReads(1)
	}
	return fetched{out: out, err: err, readFor: time.Since(read)}
}

// read returns the shard's next batch: the one read ahead if there is
// one, else a fresh read from its iterator.
func (r *Runner) read(ctx context.Context, arn, id string, cp checkpoint) (fetched, error) {
	if ch, ok := r.ahead[id]; ok {
		delete(r.ahead, id)
		var f fetched
		select {
		case f = <-ch:
		case <-ctx.Done():
			delete(r.iterators, id) // start again from the checkpoint
			return fetched{}, ctx.Err()
		}
		if f.err != nil || len(f.out.Records) > 0 || f.out.NextShardIterator == nil {
			return f, nil
		}
		// Started as the batch before was handed over, it found nothing:
		// what came since is read now, not a poll later.
		r.iterators[id] = f.out.NextShardIterator
	}
	it := r.iterators[id]
	if it == nil {
		in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(arn), ShardId: aws.String(id), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}
		if cp.seq != "" {
			in.ShardIteratorType, in.SequenceNumber = types.ShardIteratorTypeAfterSequenceNumber, aws.String(cp.seq)
		}
		out, err := r.streams.GetShardIterator(ctx, in)
		if err != nil {
			return fetched{}, fmt.Errorf("shard iterator: %w", err)
		}
		it = out.ShardIterator
	}
	return r.getRecords(ctx, it), nil
}

// Lag is the age of the newest record delivered, at its delivery: from
// Options.EventTime where it dates the record, else from the record's
// ApproximateCreationDateTime (whole seconds on DynamoDB, whole minutes on
// DynamoDB Local, which tells a stalled runner from a live one and no more).
func (r *Runner) Lag() time.Duration { return time.Duration(r.lagMillis.Load()) * time.Millisecond }

// Run polls until ctx ends. A checkpoint is written after each batch, and
// the end of ctx (SIGTERM) lets the poll under way finish its batch and save
// its checkpoint before Run returns, so a stop loses and repeats nothing.
func (r *Runner) Run(ctx context.Context) error {
	wait := r.opts.Poll
	for {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.PollTimeout)
		n, err := r.Poll(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			slog.Warn("stream poll failed; retrying", "err", err)
		}
		if n > 0 {
			wait = r.opts.Poll
		}
		if n == 0 || err != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			wait = min(2*wait, r.opts.MaxIdlePoll)
		}
	}
}

// Poll reads every open shard once and returns how many records it handed
// over.
func (r *Runner) Poll(ctx context.Context) (int, error) {
	if r.arn == "" || time.Since(r.listedAt) >= relist {
		if err := r.list(ctx); err != nil {
			return 0, err
		}
	}
	total := 0
	for _, sh := range r.shardsOf {
		n, err := r.readShard(ctx, r.arn, sh)
		total += n
		if err != nil {
			r.arn = "" // list again: the stream or a shard may have changed
			return total, err
		}
	}
	return total, nil
}

func (r *Runner) list(ctx context.Context) error {
	desc, err := r.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(r.table)})
	if err != nil {
		return fmt.Errorf("describe table: %w", err)
	}
	arn := aws.ToString(desc.Table.LatestStreamArn)
	if arn == "" {
		return fmt.Errorf("table %s has no stream", r.table)
	}
	shards, err := r.shards(ctx, arn)
	if err != nil {
		return err
	}
	r.arn, r.shardsOf, r.listedAt = arn, shards, time.Now()
	return nil
}

// shards lists the stream's shards, following pagination, so that shards
// created by a split are picked up. Parents come before their children.
func (r *Runner) shards(ctx context.Context, arn string) ([]types.Shard, error) {
	var out []types.Shard
	var start *string
	for {
		d, err := r.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn), ExclusiveStartShardId: start})
		if err != nil {
			return nil, fmt.Errorf("describe stream: %w", err)
		}
		out = append(out, d.StreamDescription.Shards...)
		start = d.StreamDescription.LastEvaluatedShardId
		if start == nil {
			return out, nil
		}
	}
}

func (r *Runner) readShard(ctx context.Context, arn string, sh types.Shard) (int, error) {
	id := aws.ToString(sh.ShardId)
	cp, err := r.checkpoint(ctx, arn, id)
	if err != nil {
		return 0, err
	}
	if cp.closed {
		return 0, nil
	}
	if parent := aws.ToString(sh.ParentShardId); parent != "" {
		pcp, err := r.checkpoint(ctx, arn, parent)
		if err != nil {
			return 0, err
		}
		// Records of one item stay in order only if the parent is drained
		// first; a parent that has expired from the stream has no
		// checkpoint and no records left.
		if !pcp.closed && pcp.seq != "" {
			return 0, nil
		}
	}
	f, err := r.read(ctx, arn, id, cp)
	if err != nil {
		return 0, err
	}
	got := f.out
	if f.err != nil {
		delete(r.iterators, id) // expired or trimmed: start again from the checkpoint
		return 0, fmt.Errorf("get records: %w", f.err)
	}
	if len(got.Records) > 0 {
		// Records are flowing: read the next batch while this one is
		// handled. An idle stream is read only when the runner polls.
		if got.NextShardIterator != nil {
			r.ahead[id] = r.readAhead(got.NextShardIterator)
		}
		done, err := r.deliver(ctx, arn, id, got.Records, f.readFor)
		if err != nil || done < len(got.Records) {
			// Redeliver from the checkpoint, as Lambda does with a partial
			// batch failure.
			delete(r.iterators, id)
			delete(r.ahead, id)
			return done, err
		}
	}
	if got.NextShardIterator == nil {
		r.iterators[id] = nil
		r.arn = "" // a shard closed: its children are new
		return len(got.Records), r.save(ctx, arn, id, r.saved[cpKey(arn, id)].seq, true)
	}
	r.iterators[id] = got.NextShardIterator
	return len(got.Records), nil
}

// deliver hands one batch to the handler and checkpoints every record before
// the first failure. It returns how many records are done; readFor is how
// long reading the batch took, for its log line.
func (r *Runner) deliver(ctx context.Context, arn, shard string, recs []types.Record, readFor time.Duration) (int, error) {
	ev := events.DynamoDBEvent{Records: make([]events.DynamoDBEventRecord, len(recs))}
	for i, rec := range recs {
		ev.Records[i] = Record(arn, rec)
	}
	handled := time.Now()
	resp, err := r.handle(ctx, ev)
	handleFor := time.Since(handled)
	if err != nil {
		return 0, fmt.Errorf("handler: %w", err)
	}
	failed := map[string]bool{}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	done := len(recs)
	for i, rec := range recs {
		seq := aws.ToString(rec.Dynamodb.SequenceNumber)
		if !failed[seq] {
			continue
		}
		r.retries[seq]++
		if r.retries[seq] > r.opts.MaxRetries {
			slog.Error("stream record failed too often; skipped", "sequence", seq, "event_id", aws.ToString(rec.EventID))
			delete(r.retries, seq)
			continue
		}
		done = i
		break
	}
	if done == 0 {
		return 0, nil
	}
	last := recs[done-1].Dynamodb
	if born, ok := r.born(last); ok {
		age := time.Since(born)
		r.lagMillis.Store(age.Milliseconds())
		metrics.Current().StreamRecordAge(age)
	}
	slog.Info("stream batch projected", "shard", shard, "records", done, "record_age_ms", r.lagMillis.Load(),
		"read_ms", readFor.Milliseconds(), "handle_ms", handleFor.Milliseconds())
	return done, r.save(ctx, arn, shard, aws.ToString(last.SequenceNumber), false)
}

// born is when a record's change happened, as well as it can be told.
func (r *Runner) born(rec *types.StreamRecord) (time.Time, bool) {
	if r.opts.EventTime != nil && rec.NewImage != nil {
		if image, err := attributevalue.FromDynamoDBStreamsMap(rec.NewImage); err == nil {
			if t, ok := r.opts.EventTime(image); ok {
				return t, true
			}
		}
	}
	if t := rec.ApproximateCreationDateTime; t != nil {
		return *t, true
	}
	return time.Time{}, false
}

type checkpoint struct {
	seq    string
	closed bool
}

func cpKey(arn, shard string) string { return arn + "#" + shard }

func (r *Runner) checkpoint(ctx context.Context, arn, shard string) (checkpoint, error) {
	if cp, ok := r.saved[cpKey(arn, shard)]; ok {
		return cp, nil
	}
	out, err := r.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(r.checkpoints), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: cpKey(arn, shard)}},
	})
	if err != nil {
		return checkpoint{}, fmt.Errorf("read checkpoint: %w", err)
	}
	var cp checkpoint
	if v, ok := out.Item["seq"].(*ddbtypes.AttributeValueMemberS); ok {
		cp.seq = v.Value
	}
	if v, ok := out.Item["closed"].(*ddbtypes.AttributeValueMemberBOOL); ok {
		cp.closed = v.Value
	}
	r.saved[cpKey(arn, shard)] = cp
	return cp, nil
}

func (r *Runner) save(ctx context.Context, arn, shard, seq string, closed bool) error {
	_, err := r.ddb.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(r.checkpoints),
		Item: map[string]ddbtypes.AttributeValue{
			"pk":      &ddbtypes.AttributeValueMemberS{Value: cpKey(arn, shard)},
			"seq":     &ddbtypes.AttributeValueMemberS{Value: seq},
			"closed":  &ddbtypes.AttributeValueMemberBOOL{Value: closed},
			"savedAt": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().UnixMilli(), 10)},
		},
	})
	if err != nil {
		delete(r.saved, cpKey(arn, shard)) // unknown now: read it again
		return fmt.Errorf("save checkpoint: %w", err)
	}
	r.saved[cpKey(arn, shard)] = checkpoint{seq: seq, closed: closed}
	return nil
}
