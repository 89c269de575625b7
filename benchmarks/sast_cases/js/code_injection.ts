// Held-out SAST benchmark cases: code injection (CWE-94/95). Scan input only.
import express, { Request, Response } from 'express';
import Koa from 'koa';
import vm from 'vm';

const app = express();
const koa = new Koa();
const OPS: Record<string, (a: number, b: number) => number> = { add: (a, b) => a + b, sub: (a, b) => a - b };

app.get('/calc', (req: Request, res: Response) => {
  const expr = req.query.expr as string;
  res.send(String(eval(expr))); // case: code-injection vulnerable
});

app.post('/rule', (req: Request, res: Response) => {
  const { condition } = req.body as { condition: string };
  const rule = new Function('tx', 'return ' + condition); // case: code-injection vulnerable
  res.json({ ok: rule({}) });
});

koa.use(async (ctx) => {
  const script = ctx.request.query.script as string;
  ctx.body = vm.runInNewContext(script, {}); // case: code-injection vulnerable
});

app.post('/schedule', (req: Request, res: Response) => {
  const code: string = req.body.code;
  setTimeout(code as unknown as () => void, 1000); // case: code-injection vulnerable
  res.end();
});

app.get('/field', (req: Request, res: Response) => {
  const field = req.query.field;
  const value = eval(`({ amount: 1 }).${field}`); // case: code-injection vulnerable
  res.json({ value });
});

app.get('/calc2', (req: Request, res: Response) => {
  const op = OPS[String(req.query.op)] ?? OPS.add;
  res.send(String(op(1, 2))); // case: code-injection safe
});

app.post('/rule2', (req: Request, res: Response) => {
  const parsed = JSON.parse(req.body.condition); // case: code-injection safe
  res.json(parsed);
});

koa.use(async (ctx) => {
  ctx.body = vm.runInNewContext('1 + 1', {}); // case: code-injection safe
});

app.post('/schedule2', (req: Request, res: Response) => {
  setTimeout(() => res.end(), Number(req.body.delay) || 1000); // case: code-injection safe
});

app.get('/defaults', (req: Request, res: Response) => {
  const limits = eval('({ daily: 1000, monthly: 20000 })'); // case: code-injection safe
  res.json(limits);
});
