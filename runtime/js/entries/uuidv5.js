// Segment exposes uuidv5 as an object ("use uuidv5.uuidv5") while older code calls it
// directly: the global is the function, and its `uuidv5` property is the function too.
const v5 = require('uuid').v5;
v5.uuidv5 = v5;
__fio_define('uuidv5', v5);
