/**
 * The baseline: bare Express 5 with a JSON body parser and one handler answering
 * 202, the floor any real API on this machine is compared with.
 *   tsx scripts/bench/baseline-server.ts <port>
 */
import express from 'express';

const app = express();
app.use(express.json());
app.post('/ingest', (req, res) => {
  res.status(202).json({ accepted: Array.isArray(req.body?.points) ? req.body.points.length : 1 });
});
app.get('/list', (_req, res) => {
  res.json([]);
});
const port = Number(process.argv[2] ?? 3999);
app.listen(port, '127.0.0.1', () => process.stdout.write(`baseline listening on ${port}\n`));
