package messaging

// Publication is one message sent to a topic, as the topic's subscriptions take it.
type Publication struct {
	// MessageID is the sent message's id, for the topic's duplicate detection.
	MessageID string
	// Copies are the message as each subscription whose rules let it through takes it.
	// Each has its own encoding, since a rule's action may change its properties. None:
	// the message is accepted and dropped.
	Copies []Copy
}

// Copy is a publication's message as one subscription takes it.
type Copy struct {
	// Queue names the subscription's queue ("topic/Subscriptions/sub").
	Queue   Queue
	Message Message
	// DeadLetterReason, when set, stores the copy in the subscription's dead-letter queue
	// at once, with this reason and DeadLetterDescription, rather than in its active
	// queue: the broker could not give it to the subscription (Service Bus dead-letters a
	// copy without a session id for a session-enabled subscription so). Such a copy is
	// never scheduled: it is enqueued at the Publish, whatever its ScheduledAt.
	DeadLetterReason      string
	DeadLetterDescription string
}

// Sub is the sub-queue c is stored in.
func (c Copy) Sub() SubQueue {
	if c.DeadLetterReason != "" {
		return DeadLetter
	}
	return Active
}

// CheckPublish checks what Publish is given, as every backend must.
func CheckPublish(topic Queue, pubs []Publication) error {
	if err := CheckName(topic.Namespace, topic.Name); err != nil {
		return err
	}
	if len(pubs) == 0 {
		return Invalid("no publications")
	}
	for _, p := range pubs {
		for _, c := range p.Copies {
			if err := CheckName(c.Queue.Namespace, c.Queue.Name); err != nil {
				return err
			}
			if c.Queue.Namespace != topic.Namespace {
				return Invalid("a copy for namespace %q in a publication to %q", c.Queue.Namespace, topic.Namespace)
			}
			if err := CheckMessage(c.Message); err != nil {
				return err
			}
			if c.DeadLetterReason == "" && c.DeadLetterDescription != "" {
				return Invalid("a dead-letter description without a reason")
			}
		}
	}
	return nil
}

// Below is the range of queue names DeleteQueue removes for name: name itself, and
// every queue under name + "/" (a topic's subscriptions). Names under it sort in
// [name+"/", name+"0"), since '0' follows '/'.
func Below(name string) (lo, hi string) { return name + "/", name + "0" }

// Numbers returns how many sequence numbers p takes, and for each copy its offset from
// the first: a queue's i-th copy has offset i.
func (p Publication) Numbers() (int64, []int64) {
	offsets := make([]int64, len(p.Copies))
	seen := make(map[string]int64, len(p.Copies))
	n := int64(1)
	for i, c := range p.Copies {
		offsets[i] = seen[c.Queue.Name]
		seen[c.Queue.Name]++
		n = max(n, seen[c.Queue.Name])
	}
	return n, offsets
}
