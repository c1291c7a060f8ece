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
	"github.com/seckill/seckill/shared/metrics"
)

// Meter counts the request units the functions' calls would consume on
// DynamoDB, by capacity's rules, from what they send and what comes back,
// and notes each call's units for the request it was made for (the
// metrics' ReadUnits, WriteUnits and DynamoDBCapacityUnits): it is how the
// local stack, whose DynamoDB Local reports wrong figures, counts what a
// sale would cost. A write whose condition fails, and a cancelled
// transaction, are charged all the same, as DynamoDB charges them. Writes
// of promotion items, which the promotions index holds, are charged once
// more, on the index.
//
// A meter made by NewMeter also keeps state per key, for the bench: per
// partition key the units of each second, which is how DynamoDB holds each
// partition to 1,000 write and 3,000 read units a second, and per item its
// last size, which an update or a delete is charged by (the meter saw the
// put that made it). One made by NewLiveMeter keeps none, so that a
// long-running stack's memory does not grow with its data; it charges an
// update or a delete as an item of up to 1 KB, which every SecKill item is.
//
// Where a client asked DynamoDB what a call consumed (Sampled), the meter
// holds the answer beside its own count of the same call (Compared).
type Meter struct {
	mu       sync.Mutex
	now      func() time.Time
	perKey   bool
	ops      map[Op]capacity.Units
	compared map[Op]Compared
	refused  map[Op]int                       // writes refused by a condition, transactions cancelled
	sizes    map[string]int                   // item key → last size seen
	heat     map[string]*heat                 // partition key → its seconds
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

// Compared is what the rules and DynamoDB said of the same calls: those a
// Sampled client asked DynamoDB about and it answered.
type Compared struct {
	Calls    int            `json:"calls"`
	Rules    capacity.Units `json:"rules"`
	Reported capacity.Units `json:"reported"`
	// Empty are the queries among them that read nothing.
	Empty int `json:"emptyQueries"`
}

type heat struct {
	window         time.Time // the second being counted
	read, write    float64   // in that second
	peakR, peakW   float64
	totalR, totalW float64
}

// NewMeter returns an empty meter on the clock now that keeps state per
// key: the bench's.
func NewMeter(now func() time.Time) *Meter {
	m := NewLiveMeter()
	m.now, m.perKey = now, true
	return m
}

// NewLiveMeter returns an empty meter that keeps no state per key: the
// local stack's.
func NewLiveMeter() *Meter {
	return &Meter{now: time.Now, ops: map[Op]capacity.Units{}, compared: map[Op]Compared{}, refused: map[Op]int{},
		sizes: map[string]int{}, heat: map[string]*heat{}, peaks: map[string]map[time.Time]float64{}}
}

// Reset forgets the units counted so far; not the items' sizes, which
// later writes are charged by, nor the calls compared, which say the same
// of DynamoDB Local whenever they were made (and are few: the first of
// each operation may have been the only one asked about).
func (m *Meter) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.ops)
	clear(m.refused)
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

// Compared returns, by function and operation, the calls DynamoDB was
// asked about, with what it answered and what the rules say of them.
func (m *Meter) Compared() map[Op]Compared {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.compared)
}

// Refused returns how many writes, by function and operation, DynamoDB
// refused by their condition or cancelled: charged, and reported by none.
func (m *Meter) Refused() map[Op]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.refused)
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

// charge is part of what one call costs: on partition pk ("" where none
// is known), under the call's operation followed by suffix.
type charge struct {
	suffix, pk string
	u          capacity.Units
}

// bill books what one call of op cost, as its charges say, for function
// and for the request of ctx; answered err and out, which holds DynamoDB's
// own figure where it was asked for one.
func (d *meteredDB) bill(ctx context.Context, op string, charges []charge, out any, err error) {
	m := d.m
	var total capacity.Units
	var sec time.Time
	if m.perKey {
		sec = m.now().Truncate(time.Second)
	}
	m.mu.Lock()
	for _, c := range charges {
		k := Op{d.function, op + c.suffix}
		m.ops[k] = m.ops[k].Add(c.u)
		total = total.Add(c.u)
		if m.perKey && c.pk != "" {
			m.warm(c.pk, sec, c.u)
		}
	}
	k := Op{d.function, op}
	if err != nil && charged(err) {
		m.refused[k]++
	}
	if cs := reportedOf(out, err); len(cs) > 0 {
		c := m.compared[k]
		c.Calls++
		c.Rules = c.Rules.Add(total)
		c.Reported = c.Reported.Add(unitsOf(op, cs))
		if q, ok := out.(*dynamodb.QueryOutput); ok && len(q.Items) == 0 {
			c.Empty++
		}
		m.compared[k] = c
	}
	m.mu.Unlock()
	if len(charges) > 0 {
		metrics.AddUnits(ctx, op, total)
	}
}

// reportedOf is the capacity DynamoDB reported in out, none where err
// says the call failed (out is then nil).
func reportedOf(out any, err error) []types.ConsumedCapacity {
	if err != nil {
		return nil
	}
	_, cs := reported(out)
	return cs
}

// warm adds u to partition pk's second sec. The caller holds m.mu.
func (m *Meter) warm(pk string, sec time.Time, u capacity.Units) {
	h := m.heat[pk]
	if h == nil {
		h = &heat{}
		m.heat[pk] = h
	}
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

// written notes an item's size and returns the size a write of it costs:
// the larger of what it was and what it becomes (0: unknown, deleted).
func (m *Meter) written(key string, size int) int {
	if !m.perKey || key == "" {
		return size
	}
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

// known is an item's last size seen (0: unknown, charged as up to 1 KB).
func (m *Meter) known(key string) int {
	if !m.perKey {
		return 0
	}
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

// write is what writing item of table costs, size its new size (0 for a
// delete, or where only the last size seen is known).
func (d *meteredDB) write(table string, item map[string]types.AttributeValue, size int, transactional bool) []charge {
	cost := d.m.written(itemKey(table, item), size)
	pk := partition(table, item)
	cs := []charge{{pk: pk, u: capacity.Units{Write: capacity.WriteUnits(cost, transactional)}}}
	// Promotion items, and only they, are in the promotions index.
	if strings.HasPrefix(pk, "P#") {
		cs = append(cs, charge{suffix: IndexSuffix, pk: "index#" + IndexByCreate, u: capacity.Units{Write: capacity.WriteUnits(cost, false)}})
	}
	return cs
}

func read(pk string, units float64) charge { return charge{pk: pk, u: capacity.Units{Read: units}} }

func (d *meteredDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := d.DB.GetItem(ctx, in, o...)
	var cs []charge
	if err == nil {
		cs = []charge{read(partition(aws.ToString(in.TableName), in.Key), capacity.ReadUnits(capacity.ItemSize(out.Item), consistency(in.ConsistentRead)))}
	}
	d.bill(ctx, "GetItem", cs, out, err)
	return out, err
}

func (d *meteredDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out, err := d.DB.BatchGetItem(ctx, in, o...)
	var cs []charge
	if err == nil {
		for table, items := range out.Responses {
			r := consistency(in.RequestItems[table].ConsistentRead)
			for _, item := range items {
				cs = append(cs, read(partition(table, item), capacity.ReadUnits(capacity.ItemSize(item), r)))
			}
		}
	}
	d.bill(ctx, "BatchGetItem", cs, out, err)
	return out, err
}

func (d *meteredDB) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := d.DB.Query(ctx, in, o...)
	var cs []charge
	if err == nil {
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
		cs = []charge{read(pk, capacity.QueryUnits(sizes, consistency(in.ConsistentRead)))}
	}
	d.bill(ctx, "Query", cs, out, err)
	return out, err
}

func (d *meteredDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := d.DB.PutItem(ctx, in, o...)
	var cs []charge
	if charged(err) {
		cs = d.write(aws.ToString(in.TableName), in.Item, capacity.ItemSize(in.Item), false)
	}
	d.bill(ctx, "PutItem", cs, out, err)
	return out, err
}

func (d *meteredDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	out, err := d.DB.DeleteItem(ctx, in, o...)
	var cs []charge
	if charged(err) {
		cs = d.write(aws.ToString(in.TableName), in.Key, 0, false)
	}
	d.bill(ctx, "DeleteItem", cs, out, err)
	return out, err
}

func (d *meteredDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := d.DB.TransactWriteItems(ctx, in, o...)
	var cs []charge
	if charged(err) {
		for _, it := range in.TransactItems {
			switch {
			case it.Put != nil:
				cs = append(cs, d.write(aws.ToString(it.Put.TableName), it.Put.Item, capacity.ItemSize(it.Put.Item), true)...)
			case it.Update != nil:
				table := aws.ToString(it.Update.TableName)
				cs = append(cs, d.write(table, it.Update.Key, d.m.known(itemKey(table, it.Update.Key)), true)...)
			case it.Delete != nil:
				cs = append(cs, d.write(aws.ToString(it.Delete.TableName), it.Delete.Key, 0, true)...)
			case it.ConditionCheck != nil:
				table := aws.ToString(it.ConditionCheck.TableName)
				cs = append(cs, charge{pk: partition(table, it.ConditionCheck.Key),
					u: capacity.Units{Write: capacity.WriteUnits(d.m.known(itemKey(table, it.ConditionCheck.Key)), true)}})
			}
		}
	}
	d.bill(ctx, "TransactWriteItems", cs, out, err)
	return out, err
}

func (d *meteredDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	out, err := d.DB.BatchWriteItem(ctx, in, o...)
	var cs []charge
	if err == nil {
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
					cs = append(cs, d.write(table, r.PutRequest.Item, capacity.ItemSize(r.PutRequest.Item), false)...)
				case r.DeleteRequest != nil:
					cs = append(cs, d.write(table, r.DeleteRequest.Key, 0, false)...)
				}
			}
		}
	}
	d.bill(ctx, "BatchWriteItem", cs, out, err)
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
