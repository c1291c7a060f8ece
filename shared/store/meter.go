package store

import (
	"context"
	"errors"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/seckill/seckill/shared/capacity"
)

// Meter counts the request units the functions' calls would consume on
// DynamoDB, by capacity's rules, from what they send and what comes back:
// per function and operation, and per partition key in windows of one
// second, which is how DynamoDB holds each partition to 1,000 write and
// 3,000 read units a second. A write's size is the item's where the
// request carries it (a put), else the last size seen of that item (an
// update or a delete: the meter sees the puts that made it); a write whose
// condition fails, and a cancelled transaction, are charged all the same,
// as DynamoDB charges them. Writes of promotion items, which the
// promotions index holds, are charged once more, on the index.
//
// Beside its own count it keeps what DynamoDB reported consuming for the
// same calls (ReturnConsumedCapacity, which every client of NewClient asks
// for), so that the two can be held side by side: DynamoDB Local's figure
// is not DynamoDB's (see shared/capacity), and a deployment's is.
type Meter struct {
	mu       sync.Mutex
	now      func() time.Time
	ops      map[Op]capacity.Units
	reported map[Op]capacity.Units
	refused  map[Op]int     // writes refused by a condition, transactions cancelled
	empty    map[Op]int     // queries that read nothing
	sizes    map[string]int // item key → last size seen
	heat     map[string]*heat
	peaks    map[string]map[time.Time]float64 // kind → second → its busiest key's write units
}

// IndexSuffix ends the operation under which the meter counts an
// operation's writes to the promotions index.
const IndexSuffix = " (index)"

// Op names what a function asked of DynamoDB.
type Op struct {
	Function  string `json:"function"`
	Operation string `json:"operation"`
}

type heat struct {
	window         time.Time // the second being counted
	read, write    float64   // in that second
	peakR, peakW   float64
	totalR, totalW float64
}

// NewMeter returns an empty meter on the clock now.
func NewMeter(now func() time.Time) *Meter {
	return &Meter{now: now, ops: map[Op]capacity.Units{}, reported: map[Op]capacity.Units{}, refused: map[Op]int{}, empty: map[Op]int{}, sizes: map[string]int{},
		heat: map[string]*heat{}, peaks: map[string]map[time.Time]float64{}}
}

// Reset forgets the units counted so far (not the items' sizes, which
// later writes are charged by).
func (m *Meter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.ops)
	clear(m.reported)
	clear(m.refused)
	clear(m.empty)
	clear(m.heat)
	clear(m.peaks)
}

// Wrap meters db's calls as function's.
func (m *Meter) Wrap(function string, db DB) DB { return &meteredDB{DB: db, m: m, function: function} }

// Ops returns the units counted so far, by function and operation.
func (m *Meter) Ops() map[Op]capacity.Units {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.ops)
}

// Reported returns what DynamoDB said the same calls consumed, by function
// and operation; a call it answered with an error reports nothing.
func (m *Meter) Reported() map[Op]capacity.Units {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.reported)
}

// Refused returns how many writes, by function and operation, DynamoDB
// refused by their condition or cancelled: charged, and reported by none.
func (m *Meter) Refused() map[Op]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.refused)
}

// Empty returns how many queries, by function, read nothing: the rules
// charge them a minimum read, which DynamoDB Local reports as none.
func (m *Meter) Empty() map[Op]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.empty)
}

// Total is the units function has consumed so far ("" for every function).
func (m *Meter) Total(function string) capacity.Units {
	m.mu.Lock()
	defer m.mu.Unlock()
	var u capacity.Units
	for k, v := range m.ops {
		if function == "" || k.Function == function {
			u = u.Add(v)
		}
	}
	return u
}

// Hot is one partition key's busiest second.
type Hot struct {
	Key        string  `json:"key"`
	PeakRead   float64 `json:"peakReadUnitsPerSecond"`
	PeakWrite  float64 `json:"peakWriteUnitsPerSecond"`
	TotalRead  float64 `json:"readUnits"`
	TotalWrite float64 `json:"writeUnits"`
}

// Hottest returns, for each kind of partition key (the part before its
// first '#': "S" inventory shards, "C" coupon buckets, "P" promotions;
// "readmodel" a customer's coupons; "index" the promotions index), the key
// with the highest peak of write units a second (reads where none wrote).
func (m *Meter) Hottest() map[string]Hot {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]Hot{}
	keys := make([]string, 0, len(m.heat))
	for k := range m.heat {
		keys = append(keys, k)
	}
	sort.Strings(keys) // ties go to the first key, whatever the map's order
	for _, k := range keys {
		h := m.heat[k]
		kind := kindOf(k)
		cur, ok := out[kind]
		if !ok || h.peakW > cur.PeakWrite || h.peakW == cur.PeakWrite && h.peakR > cur.PeakRead {
			out[kind] = Hot{Key: k, PeakRead: h.peakR, PeakWrite: h.peakW, TotalRead: h.totalR, TotalWrite: h.totalW}
		}
	}
	return out
}

// kindOf is the kind of a partition key: the part before its first '#'.
func kindOf(pk string) string {
	if i := strings.IndexByte(pk, '#'); i > 0 {
		return pk[:i]
	}
	return pk
}

// Second is one second of a kind of key: the write units its busiest key
// of that kind took in it.
type Second struct {
	At    time.Time `json:"at"`
	Write float64   `json:"writeUnits"`
}

// Busiest returns, for each kind of key, the seconds in which a key of it
// was written, in order, each with its busiest key's write units: the
// hottest key's units a second over the run.
func (m *Meter) Busiest() map[string][]Second {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]Second, len(m.peaks))
	for kind, secs := range m.peaks {
		s := make([]Second, 0, len(secs))
		for at, w := range secs {
			s = append(s, Second{at, w})
		}
		sort.Slice(s, func(i, j int) bool { return s[i].At.Before(s[j].At) })
		out[kind] = s
	}
	return out
}

// charge adds u to function's op and to partition pk (when not "").
func (m *Meter) charge(function, op, pk string, u capacity.Units) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := Op{function, op}
	m.ops[k] = m.ops[k].Add(u)
	if pk == "" {
		return
	}
	h := m.heat[pk]
	if h == nil {
		h = &heat{}
		m.heat[pk] = h
	}
	sec := m.now().Truncate(time.Second)
	if !sec.Equal(h.window) {
		h.window, h.read, h.write = sec, 0, 0
	}
	h.read += u.Read
	h.write += u.Write
	h.totalR += u.Read
	h.totalW += u.Write
	h.peakR = max(h.peakR, h.read)
	h.peakW = max(h.peakW, h.write)
	if u.Write > 0 {
		kind := kindOf(pk)
		if m.peaks[kind] == nil {
			m.peaks[kind] = map[time.Time]float64{}
		}
		m.peaks[kind][sec] = max(m.peaks[kind][sec], h.write)
	}
}

// noteRefused counts a write that err says was refused yet charged.
func (d *meteredDB) noteRefused(op string, err error) {
	if err == nil || !charged(err) {
		return
	}
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	d.m.refused[Op{d.function, op}]++
}

// noteReported adds what DynamoDB said a call's result consumed.
func (d *meteredDB) noteReported(result any) {
	op, cs := reported(result)
	if op == "" || len(cs) == 0 {
		return
	}
	u := unitsOf(op, cs)
	d.m.mu.Lock()
	defer d.m.mu.Unlock()
	k := Op{d.function, op}
	d.m.reported[k] = d.m.reported[k].Add(u)
}

// written notes an item's size and returns the size a write of it costs:
// the larger of what it was and what it becomes (0: unknown, deleted).
func (m *Meter) written(key string, size int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.sizes[key]
	if size > 0 {
		m.sizes[key] = size
	} else {
		delete(m.sizes, key)
	}
	return max(old, size)
}

func (m *Meter) known(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sizes[key]
}

type meteredDB struct {
	DB
	m        *Meter
	function string
}

// partition names the partition an item of table lives on: its pk, and
// the coupons table apart ("readmodel#<customer>").
func partition(table string, item map[string]types.AttributeValue) string {
	pk, _ := item[attrPK].(*types.AttributeValueMemberS)
	if pk == nil {
		return ""
	}
	if strings.HasSuffix(table, "coupons") {
		return "readmodel#" + pk.Value
	}
	return pk.Value
}

func itemKey(table string, item map[string]types.AttributeValue) string {
	pk, _ := item[attrPK].(*types.AttributeValueMemberS)
	sk, _ := item[attrSK].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return ""
	}
	return table + "\x00" + pk.Value + "\x00" + sk.Value
}

func consistency(consistent *bool) capacity.Read {
	if aws.ToBool(consistent) {
		return capacity.Strong
	}
	return capacity.Eventual
}

func (d *meteredDB) write(op, table string, item map[string]types.AttributeValue, size int, transactional bool) {
	key := itemKey(table, item)
	cost := size
	if key != "" {
		cost = d.m.written(key, size)
	}
	pk := partition(table, item)
	d.m.charge(d.function, op, pk, capacity.Units{Write: capacity.WriteUnits(cost, transactional)})
	// Promotion items, and only they, are in the promotions index.
	if strings.HasPrefix(pk, "P#") {
		d.m.charge(d.function, op+IndexSuffix, "index#"+IndexByCreate, capacity.Units{Write: capacity.WriteUnits(cost, false)})
	}
}

func (d *meteredDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := d.DB.GetItem(ctx, in, o...)
	if err == nil {
		d.noteReported(out)
		d.m.charge(d.function, "GetItem", partition(aws.ToString(in.TableName), in.Key),
			capacity.Units{Read: capacity.ReadUnits(capacity.ItemSize(out.Item), consistency(in.ConsistentRead))})
	}
	return out, err
}

func (d *meteredDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out, err := d.DB.BatchGetItem(ctx, in, o...)
	if err == nil {
		d.noteReported(out)
		for table, items := range out.Responses {
			r := consistency(in.RequestItems[table].ConsistentRead)
			for _, item := range items {
				d.m.charge(d.function, "BatchGetItem", partition(table, item), capacity.Units{Read: capacity.ReadUnits(capacity.ItemSize(item), r)})
			}
		}
	}
	return out, err
}

func (d *meteredDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := d.DB.Query(ctx, in, o...)
	if err == nil {
		d.noteReported(out)
		if len(out.Items) == 0 {
			d.m.mu.Lock()
			d.m.empty[Op{d.function, "Query"}]++
			d.m.mu.Unlock()
		}
		sizes := make([]int, len(out.Items))
		for i, item := range out.Items {
			sizes[i] = capacity.ItemSize(item)
		}
		pk := ""
		switch {
		case in.IndexName != nil:
			pk = "index#" + aws.ToString(in.IndexName)
		case len(out.Items) > 0:
			pk = partition(aws.ToString(in.TableName), out.Items[0])
		}
		d.m.charge(d.function, "Query", pk, capacity.Units{Read: capacity.QueryUnits(sizes, consistency(in.ConsistentRead))})
	}
	return out, err
}

func (d *meteredDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := d.DB.PutItem(ctx, in, o...)
	if err == nil {
		d.noteReported(out)
	}
	d.noteRefused("PutItem", err)
	if charged(err) {
		d.write("PutItem", aws.ToString(in.TableName), in.Item, capacity.ItemSize(in.Item), false)
	}
	return out, err
}

func (d *meteredDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	out, err := d.DB.DeleteItem(ctx, in, o...)
	if err == nil {
		d.noteReported(out)
	}
	d.noteRefused("DeleteItem", err)
	if charged(err) {
		d.write("DeleteItem", aws.ToString(in.TableName), in.Key, 0, false)
	}
	return out, err
}

func (d *meteredDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := d.DB.TransactWriteItems(ctx, in, o...)
	if err == nil {
		d.noteReported(out)
	}
	d.noteRefused("TransactWriteItems", err)
	if !charged(err) {
		return out, err
	}
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			d.write("TransactWriteItems", aws.ToString(it.Put.TableName), it.Put.Item, capacity.ItemSize(it.Put.Item), true)
		case it.Update != nil:
			table := aws.ToString(it.Update.TableName)
			d.write("TransactWriteItems", table, it.Update.Key, d.m.known(itemKey(table, it.Update.Key)), true)
		case it.Delete != nil:
			d.write("TransactWriteItems", aws.ToString(it.Delete.TableName), it.Delete.Key, 0, true)
		case it.ConditionCheck != nil:
			table := aws.ToString(it.ConditionCheck.TableName)
			d.m.charge(d.function, "TransactWriteItems", partition(table, it.ConditionCheck.Key),
				capacity.Units{Write: capacity.WriteUnits(d.m.known(itemKey(table, it.ConditionCheck.Key)), true)})
		}
	}
	return out, err
}

func (d *meteredDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	out, err := d.DB.BatchWriteItem(ctx, in, o...)
	if err != nil {
		return out, err
	}
	d.noteReported(out)
	for table, reqs := range in.RequestItems {
		left := map[string]bool{} // unprocessed: not written, not charged
		for _, r := range out.UnprocessedItems[table] {
			if r.PutRequest != nil {
				left[itemKey(table, r.PutRequest.Item)] = true
			}
		}
		for _, r := range reqs {
			switch {
			case r.PutRequest != nil && !left[itemKey(table, r.PutRequest.Item)]:
				d.write("BatchWriteItem", table, r.PutRequest.Item, capacity.ItemSize(r.PutRequest.Item), false)
			case r.DeleteRequest != nil:
				d.write("BatchWriteItem", table, r.DeleteRequest.Key, 0, false)
			}
		}
	}
	return out, err
}

// charged says whether DynamoDB charges a write that answered err: done,
// refused by its condition, or cancelled as a transaction; not one that
// was throttled or never arrived.
func charged(err error) bool {
	var cond *types.ConditionalCheckFailedException
	var cancelled *types.TransactionCanceledException
	return err == nil || errors.As(err, &cond) || errors.As(err, &cancelled)
}
