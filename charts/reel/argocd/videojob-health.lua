-- Argo CD health check for reel.dev/VideoJob. Install it under
--   resource.customizations.health.reel.dev_VideoJob   (argocd-cm ConfigMap)
-- Argo CD runs it with gopher-lua (Lua 5.1 semantics): no goto, no integer division operator.
--
-- The operator reports the three kstatus conditions, each with observedGeneration:
--   Ready=True        the merge is done (phase Completed)           -> Healthy
--   Stalled=True      episodes or the merge failed for good (Failed) -> Degraded
--   Reconciling=True  episodes are running or the merge is          -> Progressing
-- A status older than the spec (observedGeneration < metadata.generation) says nothing about the
-- current spec yet: Progressing until the operator has seen it. A cancelled job (spec.cancel, phase
-- Cancelled, Stalled=True reason Cancelled) will never become Ready: Suspended rather than Degraded
-- forever.
local hs = { status = "Progressing", message = "Waiting for the Reel operator to report status" }

if obj.status == nil then
  return hs
end

local generation = obj.metadata and obj.metadata.generation
local function stale(observed)
  return generation ~= nil and observed ~= nil and observed < generation
end

if generation ~= nil and (obj.status.observedGeneration == nil or stale(obj.status.observedGeneration)) then
  hs.message = "Waiting for the Reel operator to observe generation " .. tostring(generation)
  return hs
end

local byType = {}
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    -- a condition written for an older generation is as stale as the status around it
    if not stale(c.observedGeneration) then
      byType[c.type] = c
    end
  end
end

local function describe(c, fallback)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

local stalled = byType["Stalled"]
local ready = byType["Ready"]
local reconciling = byType["Reconciling"]

-- Cancelled first: the operator marks it Stalled (terminal, so kstatus ends a wait), but in Argo CD
-- a job someone cancelled is suspended work, not a degraded application.
if obj.status.phase == "Cancelled" then
  hs.status = "Suspended"
  hs.message = "Cancelled (spec.cancel is true)"
elseif stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
elseif ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
elseif reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling, "Reconciling")
elseif ready ~= nil then
  hs.message = describe(ready, hs.message)
end
return hs
