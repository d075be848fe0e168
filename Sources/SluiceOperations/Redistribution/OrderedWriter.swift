import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// One background thread that runs submitted work in submission order: the
/// copy's appends, fsyncs and checkpoint saves, so that encoding the next
/// batches overlaps writing and syncing the previous ones. Order is what
/// keeps the protocol sound: a chunk's checkpoint is saved only after every
/// append of the chunk and its fsync, and before any append of the next.
///
/// At most `capacity` bytes of work wait at once (`submit` blocks), which
/// bounds memory. After a failure the rest of the queue is dropped, and the
/// failure is thrown to the submitter by the next `submit` or `drain`.
final class OrderedWriter: @unchecked Sendable {
    private var queue: [(weight: Int, work: () throws -> Void)] = []
    private var head = 0
    private var queued = 0
    private var busy = false
    private var closing = false
    private var failure: Error?
    // On the heap: a pthread mutex or condition must not move, and `&` on a class's stored property
    // passes the address of a temporary copy, not of the property.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var thread = pthread_t()
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
        let made = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<OrderedWriter>.fromOpaque(context!).takeUnretainedValue().loop()
                return nil
            }, Unmanaged.passUnretained(self).toOpaque())
        precondition(made == 0, "cannot start the writer thread (error \(made))")
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    /// Queues `work`, waiting while `weight` more bytes would exceed the capacity.
    func submit(weight: Int = 0, _ work: @escaping () throws -> Void) throws {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while failure == nil && queued > 0 && queued + weight > capacity { pthread_cond_wait(changed, mutex) }
        if let failure { throw failure }
        queue.append((weight, work))
        queued += weight
        pthread_cond_broadcast(changed)
    }

    /// Waits until everything submitted has run.
    func drain() throws {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while failure == nil && (head < queue.count || busy) { pthread_cond_wait(changed, mutex) }
        if let failure { throw failure }
    }

    /// Lets queued work finish (or be dropped after a failure) and stops the thread.
    func close() {
        pthread_mutex_lock(mutex)
        closing = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
        pthread_join(thread, nil)
    }

    private func loop() {
        pthread_mutex_lock(mutex)
        while true {
            while head == queue.count && !closing { pthread_cond_wait(changed, mutex) }
            if head == queue.count { break }
            let (weight, work) = queue[head]
            queue[head].work = {}
            head += 1
            if head > 64 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            busy = failure == nil
            pthread_mutex_unlock(mutex)
            var error: Error?
            if busy {
                do { try work() } catch let thrown { error = thrown }
            }
            pthread_mutex_lock(mutex)
            if let error, failure == nil { failure = error }
            busy = false
            queued -= weight
            pthread_cond_broadcast(changed)
        }
        pthread_mutex_unlock(mutex)
    }
}
