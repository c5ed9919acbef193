// The runtime's FormData as a free global for bundles that test bodies against it.
import FormData from './formdata.js';
export { FormData };
