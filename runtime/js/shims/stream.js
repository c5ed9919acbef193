// A minimal Stream (an EventEmitter with pipe) for libraries that subclass it.
const EventEmitter = require('events');
class Stream extends EventEmitter {
  pipe(dest) {
    this.on('data', (chunk) => dest.write(chunk));
    this.on('end', () => dest.end && dest.end());
    return dest;
  }
}
Stream.Stream = Stream;
Stream.Readable = Stream;
Stream.Writable = Stream;
Stream.Transform = Stream;
Stream.PassThrough = Stream;
Stream.Duplex = Stream;
module.exports = Stream;
